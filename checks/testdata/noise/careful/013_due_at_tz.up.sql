SET lock_timeout = '3s';
SET TimeZone = 'UTC';
ALTER TABLE tasks ALTER COLUMN due_at TYPE timestamptz;
