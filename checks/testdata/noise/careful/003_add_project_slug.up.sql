SET lock_timeout = '3s';
ALTER TABLE projects ADD COLUMN slug text;
