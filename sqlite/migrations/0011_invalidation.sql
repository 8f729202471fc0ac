-- PostgreSQL's 0011 announces invalidations to the other nodes. SQLite
-- needs nothing: every process reads the WAL index (sqlite/cache.go).
SELECT 1;
