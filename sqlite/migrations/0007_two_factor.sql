-- Doorman schema 7 (SQLite): two-factor authentication (TOTP, RFC 6238)
-- with recovery codes, and the sign-ins waiting for their second factor.

-- The secret must be kept as it is to check codes. totp_pending_secret is
-- a setup not yet confirmed with a code; totp_enabled_at NULL means 2FA is
-- off; totp_last_step is the time step of the last code accepted, so that a
-- code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Only SHA-256 hashes of the codes are stored; each is used once.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- Whether the sign-in that started the session passed a second factor.
ALTER TABLE sessions ADD COLUMN two_factor INTEGER NOT NULL DEFAULT 0;

-- A right password waiting for its code: found by the SHA-256 of a random
-- token held in a cookie, never by the password.
CREATE TABLE sign_in_challenges (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remember_me INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX sign_in_challenges_expires ON sign_in_challenges (expires_at);
