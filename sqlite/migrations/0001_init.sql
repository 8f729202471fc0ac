-- Doorman schema 1 (SQLite). Times are INTEGER microseconds since the Unix
-- epoch, UTC, as the Service passes them; the database's clock is never used.

CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    idle_timeout        TEXT NOT NULL CHECK (idle_timeout IN ('1d', '7d', '30d', 'never')),
    remember_me_allowed INTEGER NOT NULL,
    remember_me_days    INTEGER NOT NULL CHECK (remember_me_days BETWEEN 1 AND 365),
    created_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    UNIQUE (account_id, email)
) STRICT;

CREATE INDEX users_email ON users (email);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    token_hash      BLOB NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    last_active_at  INTEGER NOT NULL,
    expires_at      INTEGER,
    remember_me     INTEGER NOT NULL,
    revoked_at      INTEGER,
    revoked_by      TEXT NOT NULL DEFAULT '',
    revoke_reason   TEXT NOT NULL DEFAULT '',
    ip              TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT '',
    browser         TEXT NOT NULL DEFAULT '',
    browser_version TEXT NOT NULL DEFAULT '',
    os              TEXT NOT NULL DEFAULT '',
    os_version      TEXT NOT NULL DEFAULT '',
    device_model    TEXT NOT NULL DEFAULT '',
    device_type     TEXT NOT NULL DEFAULT '',
    city            TEXT NOT NULL DEFAULT '',
    region          TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT '',
    country_code    TEXT NOT NULL DEFAULT '',
    isp             TEXT NOT NULL DEFAULT '',
    location_local  INTEGER NOT NULL DEFAULT 0,
    logins          INTEGER NOT NULL DEFAULT 0,
    actions         INTEGER NOT NULL DEFAULT 0,
    last_page       TEXT NOT NULL DEFAULT '',
    risk_level      TEXT NOT NULL DEFAULT 'none',
    risk_reasons    TEXT NOT NULL DEFAULT '' -- comma-separated codes
) STRICT;

CREATE INDEX sessions_user ON sessions (account_id, user_id, last_active_at);
CREATE INDEX sessions_account ON sessions (account_id, last_active_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expires ON sessions (expires_at) WHERE expires_at IS NOT NULL;

-- The audit log is append-only: no statement may change or delete an event.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    account_id TEXT,
    at         INTEGER NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    count      INTEGER NOT NULL DEFAULT 0,
    details    TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_account_at ON audit_events (account_id, at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
