-- +goose Up
CREATE INDEX orders_user_id_idx ON orders (user_id);
CREATE UNIQUE INDEX users_email_idx ON users (email);
-- +goose Down
DROP INDEX orders_user_id_idx;
DROP INDEX users_email_idx;
