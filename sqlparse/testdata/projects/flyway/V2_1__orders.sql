CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL
);
ALTER TABLE users ADD COLUMN manager_id bigint;
ALTER TABLE users ADD CONSTRAINT users_manager_fk FOREIGN KEY (manager_id) REFERENCES users (id);
ALTER TABLE ${app_schema}.audit_log ADD COLUMN user_id bigint REFERENCES;
CREATE INDEX orders_user_id_idx ON orders (user_id);
