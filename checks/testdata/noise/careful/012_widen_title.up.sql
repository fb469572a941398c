SET lock_timeout = '3s';
ALTER TABLE tasks ALTER COLUMN title TYPE varchar(500);
