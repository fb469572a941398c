-- One row per finished review job: an audit trail of what was reviewed,
-- and the way to check that a head commit was reviewed once.
CREATE TABLE pgai_review_run (
    id          bigserial PRIMARY KEY,
    project_id  bigint      NOT NULL,
    mr_iid      bigint      NOT NULL,
    head_sha    text        NOT NULL,
    job_id      bigint      NOT NULL,
    attempt     int         NOT NULL,
    outcome     text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pgai_review_run_mr ON pgai_review_run (project_id, mr_iid, head_sha);
