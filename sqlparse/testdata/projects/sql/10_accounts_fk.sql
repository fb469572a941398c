SET lock_timeout = '2s';
ALTER TABLE accounts
    ADD CONSTRAINT accounts_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE accounts ADD COLUMN balance numeric(12, 2) DEFALT 0;
ALTER TABLE accounts ADD COLUMN note text;
