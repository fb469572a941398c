-- +goose Up
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('new', 'paid', 'shipped'));
UPDATE orders SET status = 'new' WHERE status IS NULL;
-- +goose Down
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
