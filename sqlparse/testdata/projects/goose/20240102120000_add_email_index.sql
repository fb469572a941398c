-- +goose Up
ALTER TABLE users ADD COLUMN email text;
CREATE INDEX users_email_idx ON users (email);
-- Fails: goose runs this file in a transaction.
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);

-- +goose Down
DROP INDEX users_name_idx;
DROP INDEX users_email_idx;
