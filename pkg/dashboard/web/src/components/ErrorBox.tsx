import { ApiError } from "../api/client";

/** isNotFound reports whether a query failed because what it asked for
 * does not exist (404, or a path id that is not even a UUID: 400 on
 * `id`); a page whose subject is unknown then returns <NotFound />, the
 * dashboard's own "not found" page. */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || (error.status === 400 && error.field === "id"));
}

/** ErrorBox shows why something could not be loaded or done, with the
 * server's own message, code and field: never a blank page. */
export function ErrorBox({ error, what }: { error: unknown; what?: string }) {
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      <strong>{what ? `Could not ${what}` : "Something went wrong"}:</strong> {msg}
      {error instanceof ApiError ? (
        <span className="muted">
          {" "}
          ({error.status ? `HTTP ${error.status}` : "no answer"}, {error.code}
          {error.field ? `, field ${error.field}` : ""})
        </span>
      ) : null}
    </div>
  );
}
