-- Add shipment tracking to orders (an existing, busy table).
ALTER TABLE orders ADD COLUMN tracking_code text;

CREATE INDEX orders_tracking_code_idx ON orders (tracking_code);

ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total_cents >= 0);

ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
