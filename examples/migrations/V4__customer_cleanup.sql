SET lock_timeout = '3s';

ALTER TABLE customers RENAME COLUMN email TO email_address;

ALTER TABLE orders ALTER COLUMN id TYPE numeric;

ALTER TABLE customers ADD COLUMN signup_token uuid DEFAULT gen_random_uuid();
