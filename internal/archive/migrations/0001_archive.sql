-- The archive of reviews and experiments that the web UI (/ui/) shows.
-- One row per reviewed MR head: a re-review of the same commit replaces it.
CREATE TABLE pgai_archive_review (
    id           bigserial PRIMARY KEY,
    project_id   bigint      NOT NULL,
    project_path text        NOT NULL DEFAULT '',
    mr_iid       bigint      NOT NULL,
    mr_title     text        NOT NULL DEFAULT '',
    mr_url       text        NOT NULL DEFAULT '',
    head_sha     text        NOT NULL,
    verdict      text        NOT NULL,
    findings     int         NOT NULL DEFAULT 0,
    blocking     int         NOT NULL DEFAULT 0,
    -- report is the JSON contract of internal/report (reviewer check --format json).
    report       jsonb,
    -- markdown is the summary note as posted on the merge request.
    markdown     text        NOT NULL DEFAULT '',
    search       tsvector    NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, mr_iid, head_sha)
);
CREATE INDEX pgai_archive_review_recent ON pgai_archive_review (updated_at DESC, id DESC);
CREATE INDEX pgai_archive_review_search ON pgai_archive_review USING gin (search);

-- The migration files of a review, as they were at the reviewed commit.
CREATE TABLE pgai_archive_migration (
    review_id bigint NOT NULL REFERENCES pgai_archive_review ON DELETE CASCADE,
    ord       int    NOT NULL,
    path      text   NOT NULL,
    body      text   NOT NULL,
    PRIMARY KEY (review_id, ord)
);

-- A run of SQL on a clone: the clone run of a review, or an experiment
-- asked for with /pgai experiment or reviewer experiment.
CREATE TABLE pgai_archive_experiment (
    id           bigserial PRIMARY KEY,
    review_id    bigint UNIQUE REFERENCES pgai_archive_review ON DELETE CASCADE,
    project_id   bigint      NOT NULL DEFAULT 0,
    project_path text        NOT NULL DEFAULT '',
    mr_iid       bigint      NOT NULL DEFAULT 0,
    head_sha     text        NOT NULL DEFAULT '',
    title        text        NOT NULL DEFAULT '',
    source       text        NOT NULL,
    -- files are the SQL files run, in order ([{path, text}]).
    files        jsonb       NOT NULL,
    -- measurements are dblab.Measurement values, one per statement run.
    measurements jsonb       NOT NULL,
    duration_ms  double precision NOT NULL DEFAULT 0,
    stopped      text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pgai_archive_experiment_recent ON pgai_archive_experiment (created_at DESC, id DESC);
