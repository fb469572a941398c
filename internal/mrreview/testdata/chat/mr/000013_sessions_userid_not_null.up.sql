UPDATE sessions SET userid = '' WHERE userid IS NULL;
ALTER TABLE sessions ALTER COLUMN userid SET NOT NULL;
