-- Doorman schema 1 (PostgreSQL). Times are timestamptz written from the
-- Service's clock (microsecond precision); the database's now() is never used.

CREATE TABLE accounts (
    id                  text PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    idle_timeout        text NOT NULL CHECK (idle_timeout IN ('1d', '7d', '30d', 'never')),
    remember_me_allowed boolean NOT NULL,
    remember_me_days    integer NOT NULL CHECK (remember_me_days BETWEEN 1 AND 365),
    created_at          timestamptz NOT NULL
);

CREATE TABLE users (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    UNIQUE (account_id, email)
);

CREATE INDEX users_email ON users (email);

CREATE TABLE sessions (
    id              text PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id      text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    last_active_at  timestamptz NOT NULL,
    expires_at      timestamptz,
    remember_me     boolean NOT NULL,
    revoked_at      timestamptz,
    revoked_by      text NOT NULL DEFAULT '',
    revoke_reason   text NOT NULL DEFAULT '',
    ip              text NOT NULL DEFAULT '',
    user_agent      text NOT NULL DEFAULT '',
    browser         text NOT NULL DEFAULT '',
    browser_version text NOT NULL DEFAULT '',
    os              text NOT NULL DEFAULT '',
    os_version      text NOT NULL DEFAULT '',
    device_model    text NOT NULL DEFAULT '',
    device_type     text NOT NULL DEFAULT '',
    city            text NOT NULL DEFAULT '',
    region          text NOT NULL DEFAULT '',
    country         text NOT NULL DEFAULT '',
    country_code    text NOT NULL DEFAULT '',
    isp             text NOT NULL DEFAULT '',
    location_local  boolean NOT NULL DEFAULT false,
    logins          bigint NOT NULL DEFAULT 0,
    actions         bigint NOT NULL DEFAULT 0,
    last_page       text NOT NULL DEFAULT '',
    risk_level      text NOT NULL DEFAULT 'none',
    risk_reasons    text NOT NULL DEFAULT '' -- comma-separated codes
);

CREATE INDEX sessions_user ON sessions (account_id, user_id, last_active_at);
CREATE INDEX sessions_account ON sessions (account_id, last_active_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expires ON sessions (expires_at) WHERE expires_at IS NOT NULL;

-- The audit log is append-only: no statement may change or delete an event.
CREATE TABLE audit_events (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text,
    at         timestamptz NOT NULL,
    actor_id   text NOT NULL DEFAULT '',
    actor      text NOT NULL DEFAULT '',
    action     text NOT NULL,
    target     text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    count      integer NOT NULL DEFAULT 0,
    details    text NOT NULL DEFAULT ''
);

CREATE INDEX audit_account_at ON audit_events (account_id, at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'P0001';
END;
$$;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
