-- +goose Up
CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    order_id integer REFERENCES orders (id),
    payload json,
    created_at timestamp DEFAULT now()
);
ALTER TABLE users ADD COLUMN seq bigserial;
-- +goose Down
DROP TABLE audit_events;
