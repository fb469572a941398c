-- Posting lists of the english lexemes of kb_chunks.tsv_en, rebuilt with
-- kb_lexemes after each ingest: an unfiltered full-text search reads a
-- term's matching chunk ids from one row instead of visiting every
-- matching (wide) kb_chunks row through the GIN index.
CREATE TABLE kb_postings (
    lexeme    text PRIMARY KEY,
    chunk_ids bigint[] NOT NULL
);
