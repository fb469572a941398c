-- Revert shop:email_index from pg

DROP INDEX CONCURRENTLY users_name_idx;
DROP INDEX CONCURRENTLY users_email_idx;
ALTER TABLE users DROP COLUMN email;
