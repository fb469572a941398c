-- +goose Up
DROP INDEX users_email_idx;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
VACUUM FULL orders;
-- +goose Down
SELECT 1;
