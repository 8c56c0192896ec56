import { useEffect, useRef, type ReactNode } from "react";

/** Page is every page's <main>: its heading, the document title, and the
 * markers the browser tests and the bench wait for (data-page names the
 * page; aria-busy is true until its primary data has loaded). */
export function Page(props: { name: string; title: string; busy?: boolean; actions?: ReactNode; children?: ReactNode }) {
  const { name, title, busy = false, actions, children } = props;
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    document.title = `${title} · SABE`;
  }, [title]);
  return (
    <main id="main" ref={ref} data-page={name} aria-busy={busy} tabIndex={-1}>
      <div className="page-head">
        <h1>{title}</h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
      {children}
    </main>
  );
}
