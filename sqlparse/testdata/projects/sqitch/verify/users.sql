-- Verify shop:users on pg

SELECT 1/count(*) FROM pg_class WHERE relname = 'users';
