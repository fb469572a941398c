SET lock_timeout = '3s';
SET statement_timeout = '10min';
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_project_id_fkey;
