ALTER TABLE users ADD COLUMN email text;

-- Blocks writes on users for the whole build.
CREATE INDEX users_email_idx ON users (email);
