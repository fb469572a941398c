SET lock_timeout = '3s';
ALTER TABLE projects ALTER COLUMN slug SET NOT NULL;
ALTER TABLE projects DROP CONSTRAINT projects_slug_not_null;
