-- File contents by git blob id, for merge-request reviews that read a
-- project's whole migration history: each blob is fetched from GitLab
-- once. A blob id names its content, so rows never go stale; the table
-- grows with the distinct migration files of the reviewed projects.
CREATE TABLE pgai_blob (
    id         text        PRIMARY KEY,
    content    bytea       NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
