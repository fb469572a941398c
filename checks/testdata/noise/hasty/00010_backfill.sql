-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
UPDATE users SET name = lower(name);
ALTER TABLE users ALTER COLUMN name TYPE text;
-- +goose Down
DROP INDEX users_name_idx;
