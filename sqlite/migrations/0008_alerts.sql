-- Doorman schema 8 (SQLite): sign-in alerts, their deliveries, webhooks.

-- One alert of a suspicious sign-in (or a webhook test event): the event as
-- webhooks receive it, and the SHA-256 of its single-use "This wasn't me"
-- token (NULL for a test event). session_id is not a foreign key: an alert
-- outlives the purge of its session.
CREATE TABLE alerts (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    payload    BLOB NOT NULL,
    token_hash BLOB UNIQUE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
) STRICT;

-- The outbox: one message of an alert to one channel. A node sending one
-- holds it until claimed_until, so that several nodes never send it twice.
-- link_token is the alert's token, kept on an email delivery only until the
-- delivery ends (the message cannot be written without it).
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    alert_id         TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    claimed_until    INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    last_status_code INTEGER NOT NULL DEFAULT 0,
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL,
    link_token       TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_account ON deliveries (account_id, created_at);

-- One webhook per account. The secret signs every body (HMAC-SHA256), so it
-- is kept as it is.
CREATE TABLE webhooks (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
