-- Doorman schema 3 (SQLite): team administration and audit retention.

-- Admins may restrict their members from the Sessions page. On by default:
-- people should be able to find and end sessions they do not recognise.
ALTER TABLE accounts ADD COLUMN members_see_sessions INTEGER NOT NULL DEFAULT 1;

-- The team view ranks users by the latest activity of their active
-- sessions, and counts those, reading two partial indexes alone: between
-- them, every session never revoked, by last activity. Sessions not
-- remembered end by idleness, so the active ones are a range of the first;
-- remembered ones, usually few, are judged one by one. Each index holds
-- every column the active window reads (revoked_at and remember_me too,
-- which SQLite needs to read an index alone).
CREATE INDEX sessions_live ON sessions
    (account_id, last_active_at, expires_at, user_id, remember_me, revoked_at)
    WHERE revoked_at IS NULL AND remember_me = 0;

CREATE INDEX sessions_remembered ON sessions
    (account_id, last_active_at, created_at, expires_at, user_id, remember_me, revoked_at)
    WHERE revoked_at IS NULL AND remember_me = 1;

-- Purging by age reads the oldest events first.
CREATE INDEX audit_at ON audit_events (at);

-- The audit log stays append-only, except that events older than the
-- retention cutoff may be deleted. The cutoff is one row that only
-- PurgeAuditEvents raises, in the transaction of its delete; it starts below
-- every time, so that nothing may be deleted until a purge says so.
CREATE TABLE audit_retention (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cutoff INTEGER NOT NULL
) STRICT;

INSERT INTO audit_retention (id, cutoff) VALUES (1, -9223372036854775808);

CREATE TRIGGER audit_retention_no_delete BEFORE DELETE ON audit_retention
BEGIN
    SELECT RAISE(ABORT, 'the audit retention cutoff cannot be deleted');
END;

-- Without its row (it cannot go) the cutoff would be below every time.
DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.at >= coalesce((SELECT cutoff FROM audit_retention WHERE id = 1), -9223372036854775808)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only: only events older than the retention cutoff may be purged');
END;
