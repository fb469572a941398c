SET lock_timeout = '3s';
ALTER TABLE tasks ADD COLUMN priority smallint NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN tags text[] DEFAULT '{}';
