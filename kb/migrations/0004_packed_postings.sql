-- Posting lists of every full-text field, split by filter group and packed:
-- for a field (0 tsv_en, 1 tsv_head, 2 tsv_simple), a lexeme and a group of
-- chunks with the same kind, trust and pg_version, the number of chunks and
-- their ascending ids as unsigned varint deltas (encoded by the Go code,
-- kb/postings.go). A search reads the lists of its terms whose group passes
-- its filters, so filtered searches need no GIN lookups either. Filled by
-- the Go code right after this migration and after each ingest.
DROP TABLE kb_postings;
DROP TABLE kb_postings_simple;
CREATE TABLE kb_postings (
    field      smallint NOT NULL CHECK (field BETWEEN 0 AND 2),
    lexeme     text NOT NULL,
    kind       text NOT NULL,
    trust      smallint NOT NULL,
    pg_version text NOT NULL,
    n          int NOT NULL,
    chunk_ids  bytea NOT NULL,
    PRIMARY KEY (field, lexeme, kind, trust, pg_version)
);
