-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY users_lower_email_idx ON users (lower(email));

-- +goose Down
DROP INDEX CONCURRENTLY users_lower_email_idx;
