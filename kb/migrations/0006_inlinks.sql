-- How many other pages of a docs collection link to a page: a page many
-- others refer to (ALTER TABLE, runtime-config-client) is the reference
-- for its topic, and ranks before a passing mention of it elsewhere.
ALTER TABLE kb_sources ADD COLUMN IF NOT EXISTS inlinks integer NOT NULL DEFAULT 0;
-- Docs pages are re-ingested by the next `kb ingest --docs` to count them.
UPDATE kb_sources SET content_hash = '' WHERE kind = 'docs';
