-- Doorman schema 4 (PostgreSQL): API keys and their hourly usage.

-- An API key of an account. Only the SHA-256 of the whole key is kept; its
-- visible prefix ("dk_" and a short id) finds a leaked key. Revoked keys keep
-- their row, with who and when.
CREATE TABLE api_keys (
    id               text PRIMARY KEY,
    account_id       text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name             text NOT NULL,
    prefix           text NOT NULL UNIQUE,
    key_hash         bytea NOT NULL UNIQUE,
    read_only        boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    created_by       text NOT NULL,
    created_by_email text NOT NULL DEFAULT '',
    revoked_at       timestamptz,
    revoked_by       text NOT NULL DEFAULT '',
    last_used_at     timestamptz,
    last_ip          text NOT NULL DEFAULT '',
    last_user_agent  text NOT NULL DEFAULT ''
);

CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

-- Requests per key per hour (hour: start of the hour, UTC). Flushes add to
-- a bucket, so several servers may count the same hour.
CREATE TABLE api_key_usage (
    key_id   text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    hour     timestamptz NOT NULL,
    requests bigint NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (key_id, hour)
);
