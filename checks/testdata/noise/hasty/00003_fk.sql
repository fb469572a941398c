-- +goose Up
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;
-- +goose Down
ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
