--liquibase formatted sql

--changeset carol:5
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL
);
ALTER TABLE users ADD COLUMN manager_id bigint;
ALTER TABLE users ADD CONSTRAINT users_manager_fk FOREIGN KEY (manager_id) REFERENCES users (id);
INSERT INTO orders (user_id) VALUES (1),;
/* liquibase rollback
ALTER TABLE users DROP CONSTRAINT users_manager_fk;
DROP TABLE orders;
*/

--changeset carol:6
ALTER TABLE orders ADD COLUMN note text;
--rollback ALTER TABLE orders DROP COLUMN note note;
