-- Doorman schema 17 (SQLite): passkeys (WebAuthn credentials) and the
-- ceremonies in progress.

-- One passkey: the credential's id and public key, its signature counter,
-- and the WebAuthn adapter's record of the rest. A user's passkeys go with
-- the user.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    credential_id BLOB NOT NULL UNIQUE,
    public_key    BLOB NOT NULL,
    sign_count    INTEGER NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    credential    BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- A WebAuthn ceremony in progress, found by the SHA-256 of the token the
-- page holds; deleted when used, or by the next ceremony once expired. A
-- discoverable sign-in has no user yet.
CREATE TABLE passkey_ceremonies (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('register', 'sign_in', 'second_factor')),
    account_id   TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id   TEXT NOT NULL DEFAULT '',
    challenge_id TEXT NOT NULL DEFAULT '',
    state        BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
