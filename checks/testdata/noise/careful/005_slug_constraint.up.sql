SET lock_timeout = '3s';
ALTER TABLE projects ADD CONSTRAINT projects_slug_key UNIQUE USING INDEX projects_slug_key;
