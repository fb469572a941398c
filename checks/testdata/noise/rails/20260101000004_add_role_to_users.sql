CREATE TYPE public.user_role AS ENUM ('member', 'admin');
ALTER TABLE public.users ADD COLUMN role public.user_role DEFAULT 'member' NOT NULL;
ALTER TYPE public.user_role ADD VALUE 'moderator' BEFORE 'admin';
