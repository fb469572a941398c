ALTER TABLE users DROP CONSTRAINTT users_manager_fk;
DROP TABLE orders;
