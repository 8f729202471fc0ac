-- Doorman schema 4 (SQLite): API keys and their hourly usage.

-- An API key of an account. Only the SHA-256 of the whole key is kept; its
-- visible prefix ("dk_" and a short id) finds a leaked key. Revoked keys keep
-- their row, with who and when.
CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    prefix           TEXT NOT NULL UNIQUE,
    key_hash         BLOB NOT NULL UNIQUE,
    read_only        INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    created_by_email TEXT NOT NULL DEFAULT '',
    revoked_at       INTEGER,
    revoked_by       TEXT NOT NULL DEFAULT '',
    last_used_at     INTEGER,
    last_ip          TEXT NOT NULL DEFAULT '',
    last_user_agent  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

-- Requests per key per hour (hour: start of the hour, UTC, in microseconds).
-- Flushes add to a bucket, so several servers may count the same hour.
CREATE TABLE api_key_usage (
    key_id   TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    hour     INTEGER NOT NULL,
    requests INTEGER NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (key_id, hour)
) STRICT, WITHOUT ROWID;
