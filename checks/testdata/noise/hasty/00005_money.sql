-- +goose Up
ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2);
ALTER TABLE orders ALTER COLUMN id TYPE bigint;
ALTER TABLE orders ALTER COLUMN created_at TYPE timestamptz;
-- +goose Down
ALTER TABLE orders ALTER COLUMN id TYPE integer;
