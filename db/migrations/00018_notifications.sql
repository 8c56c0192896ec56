-- +goose Up

-- Notifications (issue 17): webhooks that the outbox's events are
-- delivered to, and regression alerts.

-- The outbox's events are handed to the webhooks they match once:
-- dispatched_at is set in the transaction that writes their deliveries.
-- Events written before there were webhooks had nobody to tell.
ALTER TABLE events ADD COLUMN dispatched_at timestamptz;
UPDATE events SET dispatched_at = occurred_at;
CREATE INDEX events_undispatched_idx ON events (occurred_at, id) WHERE dispatched_at IS NULL;

-- A webhook: where events of the listed types go, signed with a secret
-- SABE generated (Standard Webhooks), sealed under the key ring like
-- provider keys (AAD: the webhook's id). After a rotation the previous
-- secret keeps signing beside the new one until previous_secret_expires_at.
-- benchmark_ids empty: every benchmark. disabled_reason is set when SABE
-- disabled it after consecutive failed attempts.
CREATE TABLE webhooks (
    id                          uuid        PRIMARY KEY,
    name                        text        NOT NULL,
    url                         text        NOT NULL,
    events                      text[]      NOT NULL,
    benchmark_ids               uuid[]      NOT NULL DEFAULT '{}',
    format                      text        NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    enabled                     boolean     NOT NULL DEFAULT true,
    secret_prefix               text        NOT NULL,
    secret_key_id               text        NOT NULL,
    secret_ciphertext           bytea       NOT NULL,
    previous_secret_key_id      text,
    previous_secret_ciphertext  bytea,
    previous_secret_expires_at  timestamptz,
    consecutive_failures        int         NOT NULL DEFAULT 0,
    disabled_reason             text,
    disabled_at                 timestamptz,
    last_delivery_at            timestamptz,
    last_success_at             timestamptz,
    created_by_token_id         uuid,
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL,
    CHECK ((previous_secret_key_id IS NULL) = (previous_secret_ciphertext IS NULL)
       AND (previous_secret_key_id IS NULL) = (previous_secret_expires_at IS NULL))
);
CREATE INDEX webhooks_created_idx ON webhooks (created_at, id);

-- One event sent to one webhook. The first delivery of an event to a
-- webhook is unique (a dispatch that runs twice makes one); a redelivery
-- is a new row pointing at the delivery it repeats. next_attempt_at is set
-- while pending: a delivery whose task Redis lost is found by it.
CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY,
    webhook_id      uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type      text        NOT NULL,
    redelivery_of   uuid        REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    CHECK ((status = 'pending') = (finished_at IS NULL))
);
CREATE UNIQUE INDEX webhook_deliveries_first_key ON webhook_deliveries (webhook_id, event_id) WHERE redelivery_of IS NULL;
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Each attempt of a delivery: what the endpoint answered (status_code
-- NULL when it answered nothing), how long it took, why it failed, and the
-- first bytes of its answer.
CREATE TABLE webhook_attempts (
    delivery_id      uuid             NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt          int              NOT NULL CHECK (attempt > 0),
    started_at       timestamptz      NOT NULL,
    status_code      int,
    latency_ms       double precision NOT NULL,
    error            text,
    response_excerpt text             NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);

-- A benchmark's regression alert settings (BenchmarkAlerts in the API);
-- NULL: none.
ALTER TABLE benchmarks ADD COLUMN alerts jsonb;

-- A finished run compared with its baseline, once (the check task may
-- run twice): which baseline, how many (model, metric) pairs were
-- compared and how many alerts came of it, or why there was nothing to
-- compare (note).
CREATE TABLE alert_checks (
    run_id          uuid        PRIMARY KEY,
    benchmark_id    uuid        NOT NULL,
    baseline_run_id uuid,
    comparisons     int         NOT NULL DEFAULT 0,
    alerts          int         NOT NULL DEFAULT 0,
    note            text,
    checked_at      timestamptz NOT NULL
);

-- A regression alert: one model's metric worse in a run than in its
-- baseline, significant after the Holm–Bonferroni correction over the
-- run's comparisons and at least min_effect. flipped holds the questions
-- whose verdict changed (DriftQuestion in the API, at most 20).
CREATE TABLE alerts (
    id              uuid             PRIMARY KEY,
    run_id          uuid             NOT NULL,
    baseline_run_id uuid             NOT NULL,
    benchmark_id    uuid             NOT NULL,
    model_id        uuid             NOT NULL,
    metric          text             NOT NULL CHECK (metric IN ('score', 'latency_p95', 'cost')),
    previous        double precision NOT NULL,
    current         double precision NOT NULL,
    diff            double precision NOT NULL,
    ci_low          double precision NOT NULL,
    ci_high         double precision NOT NULL,
    relative_change double precision,
    p_value         double precision NOT NULL,
    p_adjusted      double precision NOT NULL,
    comparisons     int              NOT NULL,
    min_effect      double precision NOT NULL,
    questions       int              NOT NULL,
    regressed       int              NOT NULL DEFAULT 0,
    improved        int              NOT NULL DEFAULT 0,
    flipped         jsonb            NOT NULL DEFAULT '[]',
    created_at      timestamptz      NOT NULL,
    UNIQUE (run_id, model_id, metric)
);
CREATE INDEX alerts_created_idx ON alerts (created_at DESC, id DESC);
CREATE INDEX alerts_benchmark_idx ON alerts (benchmark_id, created_at DESC, id DESC);
CREATE INDEX alerts_model_idx ON alerts (model_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE alerts;
DROP TABLE alert_checks;
ALTER TABLE benchmarks DROP COLUMN alerts;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP INDEX events_undispatched_idx;
ALTER TABLE events DROP COLUMN dispatched_at;
