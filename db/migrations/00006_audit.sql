-- +goose Up

-- Who did what to which resource, and which requests were refused. Rows of
-- changes are written in the same transaction as the change, so the log
-- and the data never disagree; authentication failures arrive
-- asynchronously and rate-limited. No field ever holds a secret.
CREATE TABLE audit_log (
    id            uuid        PRIMARY KEY,
    time          timestamptz NOT NULL,
    token_id      uuid,
    token_name    text        NOT NULL,
    action        text        NOT NULL,
    resource_type text        NOT NULL,
    resource_id   text        NOT NULL DEFAULT '',
    outcome       text        NOT NULL CHECK (outcome IN ('success', 'denied')),
    reason        text        NOT NULL DEFAULT '',
    source_ip     text        NOT NULL DEFAULT '',
    user_agent    text        NOT NULL DEFAULT '',
    request_id    text        NOT NULL DEFAULT ''
);
-- Newest first is the order of every listing; the filters each lead an
-- index that ends in that order.
CREATE INDEX audit_log_time_idx ON audit_log (time DESC, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, time DESC, id DESC);
CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id, time DESC, id DESC);
CREATE INDEX audit_log_token_idx ON audit_log (token_id, time DESC, id DESC) WHERE token_id IS NOT NULL;
CREATE INDEX audit_log_denied_idx ON audit_log (time DESC, id DESC) WHERE outcome = 'denied';

-- The log is append-only: UPDATE is always refused, and DELETE only of
-- rows older than the cutoff that the retention job puts in the
-- transaction-local setting sabe.audit_retention_before. A bug or a
-- stolen application credential therefore cannot rewrite history or erase
-- recent rows. (A database superuser can drop the trigger; this guards the
-- application, not the DBA.)
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cutoff text := current_setting('sabe.audit_retention_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND cutoff IS NOT NULL AND cutoff <> '' AND OLD.time < cutoff::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose StatementBegin
CREATE FUNCTION audit_log_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP FUNCTION audit_log_no_truncate();
