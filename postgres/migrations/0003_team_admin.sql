-- Doorman schema 3 (PostgreSQL): team administration and audit retention.

-- Admins may restrict their members from the Sessions page. On by default:
-- people should be able to find and end sessions they do not recognise.
ALTER TABLE accounts ADD COLUMN members_see_sessions boolean NOT NULL DEFAULT true;

-- The team view reads the active sessions of an account from the most
-- recently active down, and counts them, with index-only scans of this
-- index: the sessions never revoked, with every column the active window
-- reads.
CREATE INDEX sessions_recent ON sessions (account_id, last_active_at)
    INCLUDE (user_id, created_at, expires_at, remember_me)
    WHERE revoked_at IS NULL;

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
