CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL
);
ALTER TABLE users ADD COLUMN manager_id bigint;
ALTER TABLE users ADD CONSTRAINT users_manager_fk FOREIGN KEY (manager_id) REFERENCES users (id);
CREATE INDEX users_manager_idx ON users (manager_id);
