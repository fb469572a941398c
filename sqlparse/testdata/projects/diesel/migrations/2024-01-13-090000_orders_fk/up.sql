CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id)
);
ALTER TABLE users ADD COLUMN manager_id bigint;
ALTER TABLE users ADD CONSTRAINT users_manager_fk FOREIGN KEY (manager_id) REFERENCES users (id);
ALTER TABLE orders ADD COLUMN total numeric DEFALT 0;
