ALTER TABLE users ADD COLUMN email text;
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
