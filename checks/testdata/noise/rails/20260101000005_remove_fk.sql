ALTER TABLE ONLY public.posts DROP CONSTRAINT fk_rails_5b5ddfd518;
ALTER TABLE public.users DROP COLUMN reset_password_token;
