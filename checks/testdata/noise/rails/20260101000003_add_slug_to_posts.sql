ALTER TABLE public.posts ADD COLUMN slug character varying;
CREATE UNIQUE INDEX CONCURRENTLY index_posts_on_slug ON public.posts USING btree (slug);
