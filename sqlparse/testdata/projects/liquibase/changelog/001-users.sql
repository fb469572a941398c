--liquibase formatted sql

--changeset alice:1
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);
--rollback DROP TABLE users;

--changeset alice:2
ALTER TABLE users ADD COLUMN email text;
CREATE INDEX users_email_idx ON users (email);
--rollback DROP INDEX users_email_idx;
--rollback ALTER TABLE users DROP COLUMN email;
