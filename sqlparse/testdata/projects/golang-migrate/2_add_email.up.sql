ALTER TABLE users ADD COLUMN email text;
-- Fails: golang-migrate sends this file as one query string, so this runs
-- inside an implicit transaction.
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
