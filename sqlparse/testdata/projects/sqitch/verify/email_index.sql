-- Verify shop:email_index on pg

SELECT 1/count(*) FROM pg_class WHERE relname = 'users';
