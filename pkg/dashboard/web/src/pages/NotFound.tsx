import { Link } from "react-router";
import { Page } from "../components/Page";

/** NotFound is the dashboard's own page for an unknown address or id. */
export function NotFound({ detail }: { detail?: string }) {
  return (
    <Page name="not-found" title="Not found">
      <p>{detail ?? "There is no page at this address."}</p>
      <p>
        <Link to="/">Go to the overview</Link>
      </p>
    </Page>
  );
}

export default NotFound;
