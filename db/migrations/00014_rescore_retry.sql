-- +goose Up

-- Redo without re-paying (issue 14). A rescore applies a scoring (the
-- benchmark's current one, or one given with the request) to a finished
-- run's stored answers under a new scoring version; its progress and the
-- scoring it applied live here, one row per version. fingerprint is the
-- sha256 of the canonical JSON of every question's effective rule,
-- expected answer and judge snapshot: asking for the fingerprint of the
-- run's current version returns that version instead of making another.
-- scoring holds the per-question rules the version scores with, which the
-- evaluation:judge handler reads for versions after the first.
-- status: running (done of total units scored or judged), completed, or
-- failed (error says why). At most one rescore of a run runs at a time.
CREATE TABLE run_rescores (
    run_id      uuid        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    version     int         NOT NULL CHECK (version >= 2),
    fingerprint text        NOT NULL,
    scoring     jsonb       NOT NULL,
    status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    total       int         NOT NULL DEFAULT 0,
    done        int         NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (run_id, version)
);
CREATE UNIQUE INDEX run_rescores_running_idx ON run_rescores (run_id) WHERE status = 'running';

-- retry_round counts a run's retries of its failed units: 0 until the
-- first POST /v1/runs/{id}/retry-failed. The tasks of a round carry it in
-- their ids, so a round never collides with the tasks of an earlier one.
ALTER TABLE runs ADD COLUMN retry_round int NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE runs DROP COLUMN retry_round;
DROP TABLE run_rescores;
