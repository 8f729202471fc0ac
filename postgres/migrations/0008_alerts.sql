-- Doorman schema 8 (PostgreSQL): sign-in alerts, their deliveries, webhooks.

-- One alert of a suspicious sign-in (or a webhook test event): the event as
-- webhooks receive it, and the SHA-256 of its single-use "This wasn't me"
-- token (NULL for a test event). session_id is not a foreign key: an alert
-- outlives the purge of its session.
CREATE TABLE alerts (
    id         text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    text NOT NULL DEFAULT '',
    session_id text NOT NULL DEFAULT '',
    kind       text NOT NULL,
    payload    bytea NOT NULL,
    token_hash bytea UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);

-- The outbox: one message of an alert to one channel. A node sending one
-- holds it until claimed_until, so that several nodes never send it twice.
-- link_token is the alert's token, kept on an email delivery only until the
-- delivery ends (the message cannot be written without it).
CREATE TABLE deliveries (
    id               text PRIMARY KEY,
    alert_id         text NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    account_id       text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook')),
    target           text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    claimed_until    timestamptz,
    last_error       text NOT NULL DEFAULT '',
    last_status_code integer NOT NULL DEFAULT 0,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL,
    link_token       text NOT NULL DEFAULT ''
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_account ON deliveries (account_id, created_at);

-- One webhook per account. The secret signs every body (HMAC-SHA256), so it
-- is kept as it is.
CREATE TABLE webhooks (
    account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    url        text NOT NULL,
    secret     text NOT NULL,
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
