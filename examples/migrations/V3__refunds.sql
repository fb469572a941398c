SET lock_timeout = '3s';

CREATE TABLE refunds (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL,
    amount_cents bigint NOT NULL
);

-- The foreign key is added NOT VALID and validated separately, so the scan
-- of refunds does not block writes to orders.
ALTER TABLE refunds ADD CONSTRAINT refunds_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (id) NOT VALID;
