-- migrate:up transaction:false
ALTER TABLE users ADD COLUMN email text;
-- Fails: dbmate sends the block as one query string, an implicit transaction.
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);

-- migrate:down
DROP INDEX users_email_idx;
ALTER TABLE users DROP COLUMN email;
