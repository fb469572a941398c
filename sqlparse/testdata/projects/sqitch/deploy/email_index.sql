-- Deploy shop:email_index to pg
-- No BEGIN: CREATE INDEX CONCURRENTLY cannot run in a transaction.
\set ON_ERROR_STOP on

ALTER TABLE users ADD COLUMN email text;
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
CREATE INDEX users_name_idx ON users (name);
