-- Revert shop:orders_fk from pg

BEGIN;
ALTER TABLE users DROP CONSTRAINTT users_manager_fk;
DROP TABLE orders;
COMMIT;
