-- Doorman schema 17 (PostgreSQL): passkeys (WebAuthn credentials) and the
-- ceremonies in progress.

-- One passkey: the credential's id and public key, its signature counter,
-- and the WebAuthn adapter's record of the rest. A user's passkeys go with
-- the user.
CREATE TABLE passkeys (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    credential_id bytea NOT NULL UNIQUE,
    public_key    bytea NOT NULL,
    sign_count    bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    credential    bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- A WebAuthn ceremony in progress, found by the SHA-256 of the token the
-- page holds; deleted when used, or by the next ceremony once expired. A
-- discoverable sign-in has no user yet.
CREATE TABLE passkey_ceremonies (
    id           text PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('register', 'sign_in', 'second_factor')),
    account_id   text REFERENCES accounts (id) ON DELETE CASCADE,
    user_id      text REFERENCES users (id) ON DELETE CASCADE,
    session_id   text NOT NULL DEFAULT '',
    challenge_id text NOT NULL DEFAULT '',
    state        bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
