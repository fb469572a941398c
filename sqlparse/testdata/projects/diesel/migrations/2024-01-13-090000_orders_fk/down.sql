DROP TABL orders;
ALTER TABLE users DROP COLUMN manager_id;
