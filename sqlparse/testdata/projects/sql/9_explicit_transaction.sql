BEGIN;
SET LOCAL lock_timeout = '2s';
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
COMMIT;
