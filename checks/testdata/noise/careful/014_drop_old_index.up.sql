DROP INDEX CONCURRENTLY IF EXISTS projects_account_id_idx;
