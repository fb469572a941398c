-- Alone in its file: runs outside any transaction.
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
