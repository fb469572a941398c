SET lock_timeout = '3s';
ALTER TABLE projects ADD CONSTRAINT projects_slug_not_null CHECK (slug IS NOT NULL) NOT VALID;
