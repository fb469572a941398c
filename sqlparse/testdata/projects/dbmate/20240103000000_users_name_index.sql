-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY users_name_idx;
