-- Doorman schema 3 (SQLite): team administration and audit retention.

-- Admins may restrict their members from the Sessions page. On by default:
-- people should be able to find and end sessions they do not recognise.
ALTER TABLE accounts ADD COLUMN members_see_sessions INTEGER NOT NULL DEFAULT 1;

-- The team view reads the active sessions of an account from the most
-- recently active down, and counts them, from this index alone: the
-- sessions never revoked, with every column the active window reads.
CREATE INDEX sessions_recent ON sessions
    (account_id, last_active_at, user_id, created_at, expires_at, remember_me, revoked_at)
    WHERE revoked_at IS NULL;

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
