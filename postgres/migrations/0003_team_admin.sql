-- Doorman schema 3 (PostgreSQL): team administration and audit retention.

-- Admins may restrict their members from the Sessions page. On by default:
-- people should be able to find and end sessions they do not recognise.
ALTER TABLE accounts ADD COLUMN members_see_sessions boolean NOT NULL DEFAULT true;

-- The team view ranks users by the latest activity of their active
-- sessions, and counts those, with index-only scans of two partial indexes:
-- between them, every session never revoked, by last activity. Sessions not
-- remembered end by idleness, so the active ones are a range of the first;
-- remembered ones, usually few, are judged one by one.
CREATE INDEX sessions_live ON sessions (account_id, last_active_at)
    INCLUDE (expires_at, user_id)
    WHERE revoked_at IS NULL AND NOT remember_me;

CREATE INDEX sessions_remembered ON sessions (account_id, last_active_at)
    INCLUDE (created_at, expires_at, user_id)
    WHERE revoked_at IS NULL AND remember_me;

-- Purging by age reads the oldest events first.
CREATE INDEX audit_at ON audit_events (at);

-- The audit log stays append-only, except that events older than the
-- retention cutoff may be deleted. The cutoff is one row that only
-- PurgeAuditEvents raises, in the transaction of its delete; it starts below
-- every time, so that nothing may be deleted until a purge says so.
CREATE TABLE audit_retention (
    id     integer PRIMARY KEY CHECK (id = 1),
    cutoff timestamptz NOT NULL
);

INSERT INTO audit_retention (id, cutoff) VALUES (1, '-infinity');

CREATE FUNCTION audit_retention_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit retention cutoff cannot be deleted' USING ERRCODE = 'P0001';
END;
$$;

CREATE TRIGGER audit_retention_no_delete BEFORE DELETE ON audit_retention
    FOR EACH ROW EXECUTE FUNCTION audit_retention_keep();
CREATE TRIGGER audit_retention_no_truncate BEFORE TRUNCATE ON audit_retention
    FOR EACH STATEMENT EXECUTE FUNCTION audit_retention_keep();

-- Every UPDATE is refused; a DELETE only of an event older than the cutoff
-- (without its row, which cannot go, nothing could be deleted). TRUNCATE
-- stays refused by audit_events_no_truncate.
CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < (SELECT cutoff FROM audit_retention WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: only events older than the retention cutoff may be purged'
        USING ERRCODE = 'P0001';
END;
$$;

DROP TRIGGER audit_events_no_change ON audit_events;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_guard();
