-- +goose Up

-- Providers hold the endpoint and the encrypted key. The key id names the
-- keyring entry that encrypted it, so keys rotate without a migration.
CREATE TABLE providers (
    id                 uuid PRIMARY KEY,
    name               text        NOT NULL,
    kind               text        NOT NULL CHECK (kind IN ('openai', 'anthropic', 'google')),
    base_url           text        NOT NULL,
    headers            jsonb       NOT NULL DEFAULT '{}',
    api_key_id         text,
    api_key_ciphertext bytea,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((api_key_id IS NULL) = (api_key_ciphertext IS NULL))
);
CREATE UNIQUE INDEX providers_name_key ON providers (lower(name));

-- Models are archived, never deleted, once a benchmark or run refers to them.
CREATE TABLE models (
    id                   uuid PRIMARY KEY,
    provider_id          uuid             NOT NULL REFERENCES providers (id),
    name                 text             NOT NULL,
    provider_model_id    text             NOT NULL,
    input_cost_per_mtok  double precision NOT NULL DEFAULT 0 CHECK (input_cost_per_mtok >= 0),
    output_cost_per_mtok double precision NOT NULL DEFAULT 0 CHECK (output_cost_per_mtok >= 0),
    request_overrides    jsonb            NOT NULL DEFAULT '{}',
    archived_at          timestamptz,
    created_at           timestamptz      NOT NULL DEFAULT now(),
    updated_at           timestamptz      NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX models_name_key ON models (lower(name)) WHERE archived_at IS NULL;
CREATE INDEX models_provider_idx ON models (provider_id);

CREATE TABLE suites (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    archived_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX suites_name_key ON suites (lower(name)) WHERE archived_at IS NULL;

-- A question is a stable identity; its content lives in immutable revisions.
-- Editing a question appends a revision and moves questions.revision, so a run
-- that used revision n keeps pointing at exactly what it asked.
CREATE TABLE questions (
    id          uuid PRIMARY KEY,
    suite_id    uuid        NOT NULL REFERENCES suites (id),
    revision    int         NOT NULL DEFAULT 1,
    archived_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX questions_suite_idx ON questions (suite_id, id);

CREATE TABLE question_revisions (
    id              uuid PRIMARY KEY,
    question_id     uuid        NOT NULL REFERENCES questions (id),
    revision        int         NOT NULL,
    prompt          text        NOT NULL,
    category        text        NOT NULL DEFAULT '',
    expected_answer text        NOT NULL DEFAULT '',
    scoring         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (question_id, revision)
);

CREATE TABLE benchmarks (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL,
    config      jsonb       NOT NULL,
    archived_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX benchmarks_name_key ON benchmarks (lower(name)) WHERE archived_at IS NULL;

CREATE TABLE benchmark_suites (
    benchmark_id uuid NOT NULL REFERENCES benchmarks (id) ON DELETE CASCADE,
    position     int  NOT NULL,
    suite_id     uuid NOT NULL REFERENCES suites (id),
    PRIMARY KEY (benchmark_id, position),
    UNIQUE (benchmark_id, suite_id)
);
CREATE INDEX benchmark_suites_suite_idx ON benchmark_suites (suite_id);

CREATE TABLE benchmark_models (
    benchmark_id uuid NOT NULL REFERENCES benchmarks (id) ON DELETE CASCADE,
    position     int  NOT NULL,
    model_id     uuid NOT NULL REFERENCES models (id),
    PRIMARY KEY (benchmark_id, position),
    UNIQUE (benchmark_id, model_id)
);
CREATE INDEX benchmark_models_model_idx ON benchmark_models (model_id);

-- A run stores the configuration it ran with (config, run_models,
-- run_questions), so its scores stay comparable however the benchmark,
-- models and questions change later.
CREATE TABLE runs (
    id                  uuid PRIMARY KEY,
    benchmark_id        uuid             NOT NULL REFERENCES benchmarks (id),
    status              text             NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'partial', 'failed', 'cancelled')),
    trigger             text             NOT NULL CHECK (trigger IN ('api', 'manual', 'schedule')),
    scheduled_for       timestamptz,
    config              jsonb            NOT NULL,
    model_count         int              NOT NULL,
    question_count      int              NOT NULL,
    samples             int              NOT NULL,
    total_units         int              NOT NULL,
    succeeded           int              NOT NULL DEFAULT 0,
    failed              int              NOT NULL DEFAULT 0,
    cancelled           int              NOT NULL DEFAULT 0,
    cost_usd            double precision NOT NULL DEFAULT 0,
    input_tokens        bigint           NOT NULL DEFAULT 0,
    output_tokens       bigint           NOT NULL DEFAULT 0,
    latency_p50_ms      double precision,
    latency_p95_ms      double precision,
    error               text,
    created_at          timestamptz      NOT NULL,
    started_at          timestamptz,
    finished_at         timestamptz,
    cancel_requested_at timestamptz,
    CHECK (total_units = model_count * question_count * samples),
    UNIQUE (benchmark_id, scheduled_for)
);
CREATE INDEX runs_benchmark_idx ON runs (benchmark_id, id DESC);
CREATE INDEX runs_unfinished_idx ON runs (status) WHERE finished_at IS NULL;

CREATE TABLE run_models (
    run_id               uuid             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position             int              NOT NULL,
    model_id             uuid             NOT NULL,
    provider_id          uuid             NOT NULL,
    name                 text             NOT NULL,
    provider_model_id    text             NOT NULL,
    input_cost_per_mtok  double precision NOT NULL,
    output_cost_per_mtok double precision NOT NULL,
    request_overrides    jsonb            NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX run_models_model_idx ON run_models (model_id);

CREATE TABLE run_questions (
    run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position    int  NOT NULL,
    question_id uuid NOT NULL,
    revision_id uuid NOT NULL REFERENCES question_revisions (id),
    PRIMARY KEY (run_id, position)
);
CREATE INDEX run_questions_question_idx ON run_questions (question_id);

-- Executions and evaluations are time series. Their keys start with the
-- run's creation time so that, where TimescaleDB exists, a later migration
-- turns them into hypertables on run_created_at without losing the
-- exactly-once keys (a hypertable's unique indexes must contain its time
-- column). For the same reason they carry no foreign keys to each other.
CREATE TABLE executions (
    run_created_at       timestamptz      NOT NULL,
    run_id               uuid             NOT NULL,
    model_id             uuid             NOT NULL,
    question_id          uuid             NOT NULL,
    sample               int              NOT NULL,
    benchmark_id         uuid             NOT NULL,
    question_revision_id uuid             NOT NULL,
    category             text             NOT NULL,
    status               text             NOT NULL CHECK (status IN ('succeeded', 'failed', 'cancelled')),
    response             text             NOT NULL DEFAULT '',
    error                text,
    http_status          int,
    attempts             int              NOT NULL DEFAULT 1,
    latency_ms           double precision,
    ttft_ms              double precision,
    output_tokens_per_s  double precision,
    input_tokens         int              NOT NULL DEFAULT 0,
    output_tokens        int              NOT NULL DEFAULT 0,
    cost_usd             double precision NOT NULL DEFAULT 0,
    started_at           timestamptz,
    finished_at          timestamptz      NOT NULL,
    PRIMARY KEY (run_created_at, run_id, model_id, question_id, sample)
);
CREATE INDEX executions_time_brin ON executions USING brin (run_created_at);

CREATE TABLE evaluations (
    run_created_at timestamptz      NOT NULL,
    run_id         uuid             NOT NULL,
    model_id       uuid             NOT NULL,
    question_id    uuid             NOT NULL,
    sample         int              NOT NULL,
    scorer         text             NOT NULL,
    passed         boolean          NOT NULL,
    score          double precision NOT NULL,
    detail         text             NOT NULL DEFAULT '',
    created_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (run_created_at, run_id, model_id, question_id, sample, scorer)
);
CREATE INDEX evaluations_time_brin ON evaluations USING brin (run_created_at);

-- Rankings are small (models × categories per run) and stay a plain table.
-- category '' is the overall ranking.
CREATE TABLE rankings (
    run_id          uuid             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    category        text             NOT NULL,
    model_id        uuid             NOT NULL,
    position        int              NOT NULL,
    model_name      text             NOT NULL,
    score           double precision NOT NULL,
    n               int              NOT NULL,
    correct         int              NOT NULL,
    failed          int              NOT NULL,
    error_rate      double precision NOT NULL,
    mean_latency_ms double precision NOT NULL,
    cost_usd        double precision NOT NULL,
    ci_low          double precision NOT NULL,
    ci_high         double precision NOT NULL,
    PRIMARY KEY (run_id, category, model_id)
);

-- API tokens are stored as SHA-256 hashes; the token itself is shown once.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    token_hash   bytea       NOT NULL UNIQUE,
    scopes       text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE rankings;
DROP TABLE evaluations;
DROP TABLE executions;
DROP TABLE run_questions;
DROP TABLE run_models;
DROP TABLE runs;
DROP TABLE benchmark_models;
DROP TABLE benchmark_suites;
DROP TABLE benchmarks;
DROP TABLE question_revisions;
DROP TABLE questions;
DROP TABLE suites;
DROP TABLE models;
DROP TABLE providers;
