--liquibase formatted sql

--changeset bob:3 runInTransaction:false
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
--rollback DROP INDEX CONCURRENTLY users_name_idx;

--changeset bob:4
-- Fails: this changeset runs in a transaction.
CREATE INDEX CONCURRENTLY users_lower_name_idx ON users (lower(name));
--rollback not required
