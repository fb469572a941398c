-- Knowledge base schema: sources, their chunks (with generated full-text
-- vectors) and embeddings per model.
CREATE EXTENSION IF NOT EXISTS vector;

-- One row per ingested document (a docs page, a source file, an article,
-- the reviewer's rule catalogue entry). key is stable across runs; a
-- collection is the set of sources one ingest run owns (e.g. "docs:15"), so
-- sources that disappeared from it can be removed.
CREATE TABLE kb_sources (
    id           bigserial PRIMARY KEY,
    key          text NOT NULL UNIQUE,
    collection   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('docs', 'source', 'article', 'mailing_list', 'web', 'rules')),
    title        text NOT NULL,
    url          text NOT NULL,
    author       text NOT NULL DEFAULT '',
    -- 0 unknown, 1 high (docs, verified articles, our rules), 2 highest (source code)
    trust        smallint NOT NULL CHECK (trust BETWEEN 0 AND 2),
    pg_version   text NOT NULL DEFAULT '',
    -- for articles: how the author's permission was given; empty otherwise
    permission   text NOT NULL DEFAULT '',
    content_hash text NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_sources_collection ON kb_sources (collection);

-- Chunks carry kind/trust/pg_version copied from their source so filtered
-- searches need no join before the LIMIT.
CREATE TABLE kb_chunks (
    id         bigserial PRIMARY KEY,
    source_id  bigint NOT NULL REFERENCES kb_sources (id) ON DELETE CASCADE,
    ord        int NOT NULL,
    heading    text NOT NULL,            -- heading path joined with ' > '
    url        text NOT NULL,            -- with anchor
    body       text NOT NULL,
    tokens     int NOT NULL,
    kind       text NOT NULL,
    trust      smallint NOT NULL,
    pg_version text NOT NULL DEFAULT '',
    -- Full text: tsv_en covers heading and body (english stems); tsv_head
    -- the heading path alone, so heading matches can count more; tsv_simple
    -- removes underscores first so identifiers (pg_stat_statements,
    -- lock_timeout) become single unstemmed lexemes (pgstatstatements).
    -- Slashes become spaces: the parser would read SET/DROP as one file name.
    tsv_en     tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, translate(heading || ' ' || body, '/', ' '))) STORED,
    tsv_head   tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, translate(heading, '/', ' '))) STORED,
    tsv_simple tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, translate(translate(heading || ' ' || body, '_', ''), '/', ' '))) STORED,
    UNIQUE (source_id, ord)
);
CREATE INDEX kb_chunks_tsv_en ON kb_chunks USING gin (tsv_en);
CREATE INDEX kb_chunks_tsv_head ON kb_chunks USING gin (tsv_head);
CREATE INDEX kb_chunks_tsv_simple ON kb_chunks USING gin (tsv_simple);

-- Embedding models in use. Each gets its own partial HNSW expression index
-- on kb_embeddings (WHERE model = ..., embedding::vector(dimensions)), created
-- by the code when the model is first used, so the dimension stays
-- configurable without altering the column.
CREATE TABLE kb_models (
    model      text PRIMARY KEY,
    dimensions int NOT NULL CHECK (dimensions BETWEEN 1 AND 2000),
    index_name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_embeddings (
    chunk_id  bigint NOT NULL REFERENCES kb_chunks (id) ON DELETE CASCADE,
    model     text NOT NULL REFERENCES kb_models (model),
    embedding vector NOT NULL,
    PRIMARY KEY (chunk_id, model)
);
CREATE INDEX kb_embeddings_model ON kb_embeddings (model);

-- Document frequencies of lexemes, refreshed after each ingest, to weigh
-- query terms by rarity (full-text ranking in PostgreSQL has no IDF).
CREATE TABLE kb_lexemes (
    config text NOT NULL,
    lexeme text NOT NULL,
    ndoc   int NOT NULL,
    PRIMARY KEY (config, lexeme)
);
