import { NavLink, Outlet } from "react-router";
import { useCan, useSession } from "../api/session";

/** Layout is every page's frame: a skip link, the navigation, who is
 * logged in with a log-out button, and the page. */
export function Layout() {
  const session = useSession();
  const admin = useCan("admin");
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/" className="brand" end>
          SABE
        </NavLink>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/" end>
                Overview
              </NavLink>
            </li>
            <li>
              <NavLink to="/runs">Runs</NavLink>
            </li>
            <li>
              <NavLink to="/compare">Compare</NavLink>
            </li>
            <li>
              <NavLink to="/alerts">Alerts</NavLink>
            </li>
            <li>
              <NavLink to="/schedules">Schedules</NavLink>
            </li>
            <li>
              <NavLink to="/providers">Providers</NavLink>
            </li>
            {admin ? (
              <>
                <li>
                  <NavLink to="/admin/webhooks">Webhooks</NavLink>
                </li>
                <li>
                  <NavLink to="/admin/tokens">Tokens</NavLink>
                </li>
                <li>
                  <NavLink to="/admin/audit">Audit</NavLink>
                </li>
              </>
            ) : null}
          </ul>
        </nav>
        <form className="who" method="post" action="/logout">
          {session.data ? (
            <span className="muted" title={"Scopes: " + session.data.scopes.join(", ")}>
              {session.data.token_name}
            </span>
          ) : null}
          <button type="submit" className="link">
            Log out
          </button>
        </form>
      </header>
      <Outlet />
    </>
  );
}
