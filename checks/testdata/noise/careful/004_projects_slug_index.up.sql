CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS projects_slug_key ON projects (slug);
