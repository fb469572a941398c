-- Benchmark runs (pgbench on a dedicated environment), their iterations
-- and every artifact file collected, for the history pages, the agent and
-- `reviewer bench export`.
CREATE TABLE loadtest_run (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    runner       text NOT NULL,
    status       text NOT NULL CHECK (status IN ('running', 'done', 'failed', 'canceled')),
    error        text NOT NULL DEFAULT '',
    target       text NOT NULL DEFAULT '',   -- DSN without its password
    server       text NOT NULL DEFAULT '',   -- version()
    pipeline_url text NOT NULL DEFAULT '',
    project_id   bigint,                     -- where it was asked for (/pgai bench), if anywhere
    mr_iid       bigint,
    requested_by text NOT NULL DEFAULT '',
    detail       jsonb NOT NULL,             -- the Run (spec without DSN, iterations)
    results      jsonb,                      -- the Results
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX loadtest_run_created ON loadtest_run (created_at DESC);
CREATE INDEX loadtest_run_mr ON loadtest_run (project_id, mr_iid) WHERE project_id IS NOT NULL;

CREATE TABLE loadtest_iteration (
    id             bigserial PRIMARY KEY,
    run_id         bigint NOT NULL REFERENCES loadtest_run ON DELETE CASCADE,
    seq            int NOT NULL,
    variant        text NOT NULL DEFAULT '',
    clients        int NOT NULL,
    iteration      int NOT NULL,
    tps            double precision,
    latency_avg_ms double precision,
    latency_p50_ms double precision,
    latency_p95_ms double precision,
    latency_p99_ms double precision,
    transactions   bigint,
    failed         bigint,
    prepare_s      double precision,
    run_s          double precision,
    collect_s      double precision,
    error          text NOT NULL DEFAULT '',
    started_at     timestamptz,
    finished_at    timestamptz,
    UNIQUE (run_id, seq)
);

CREATE TABLE loadtest_artifact (
    id           bigserial PRIMARY KEY,
    run_id       bigint NOT NULL REFERENCES loadtest_run ON DELETE CASCADE,
    iteration_id bigint REFERENCES loadtest_iteration ON DELETE CASCADE,
    path         text NOT NULL,              -- relative to the run folder
    size         bigint NOT NULL,
    content      bytea NOT NULL,
    UNIQUE (run_id, path)
);
CREATE INDEX loadtest_artifact_iteration ON loadtest_artifact (iteration_id);
