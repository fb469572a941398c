-- Posting lists of kb_chunks.tsv_simple (identifiers), as kb_postings for
-- tsv_en: common identifiers (search_path) would otherwise visit every
-- matching chunk row.
CREATE TABLE kb_postings_simple (
    lexeme    text PRIMARY KEY,
    chunk_ids bigint[] NOT NULL
);
