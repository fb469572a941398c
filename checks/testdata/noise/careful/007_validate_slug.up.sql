SET lock_timeout = '3s';
SET statement_timeout = '10min';
ALTER TABLE projects VALIDATE CONSTRAINT projects_slug_not_null;
