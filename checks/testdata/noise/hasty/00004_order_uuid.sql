-- +goose Up
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
ALTER TABLE orders ADD CONSTRAINT orders_public_id_key UNIQUE (public_id);
-- +goose Down
ALTER TABLE orders DROP COLUMN public_id;
