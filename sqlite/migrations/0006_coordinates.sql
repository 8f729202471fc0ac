-- Doorman schema 6 (SQLite): where a session is, and each address it used,
-- lies on the globe, for the impossible-travel check. 0 and 0 (rows of earlier schemas,
-- and addresses the location data gives no point for) mean unknown.
ALTER TABLE session_ips ADD COLUMN latitude REAL NOT NULL DEFAULT 0;
ALTER TABLE session_ips ADD COLUMN longitude REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN latitude REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN longitude REAL NOT NULL DEFAULT 0;
