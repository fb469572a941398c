-- Trust gets a level for the reviewer's own rule docs, below the official
-- docs: 0 unknown, 1 reviewer, 2 high (official docs, credited articles),
-- 3 highest (source code). Existing levels move up by one; rules go to 1.
ALTER TABLE kb_sources DROP CONSTRAINT IF EXISTS kb_sources_trust_check;
UPDATE kb_sources SET trust = trust + 1 WHERE trust >= 1;
UPDATE kb_sources SET trust = 1 WHERE kind = 'rules';
ALTER TABLE kb_sources ADD CONSTRAINT kb_sources_trust_check CHECK (trust BETWEEN 0 AND 3);
UPDATE kb_chunks SET trust = trust + 1 WHERE trust >= 1;
UPDATE kb_chunks SET trust = 1 WHERE kind = 'rules';
-- Content hashes include the trust level: force the next ingest to rewrite.
UPDATE kb_sources SET content_hash = '';

-- Headings of source code name declarations in CamelCase (LockConflicts,
-- LockAcquire): their words are indexed too ("lock conflicts"), so a
-- question in words finds the declaration by its heading.
ALTER TABLE kb_chunks DROP COLUMN tsv_en, DROP COLUMN tsv_head;
ALTER TABLE kb_chunks
    ADD COLUMN tsv_en tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
        translate(heading || ' ' || regexp_replace(heading, '([a-z0-9])([A-Z])', '\1 \2', 'g') || ' ' || body, '/', ' '))) STORED,
    ADD COLUMN tsv_head tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
        translate(heading || ' ' || regexp_replace(heading, '([a-z0-9])([A-Z])', '\1 \2', 'g'), '/', ' '))) STORED;
CREATE INDEX kb_chunks_tsv_en ON kb_chunks USING gin (tsv_en);
CREATE INDEX kb_chunks_tsv_head ON kb_chunks USING gin (tsv_head);

-- "did you mean": close words of the knowledge base by trigram similarity.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
