-- Doorman schema 16 (SQLite): sessions bound to a device key (DBSC).

-- The device's public key (a JWK, '' while unbound), the secret that keys
-- the MAC of the session's bound cookies, and when the key was registered.
-- Written once: a binding is never replaced.
ALTER TABLE sessions ADD COLUMN bound_key TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN bound_secret BLOB;
ALTER TABLE sessions ADD COLUMN bound_at INTEGER;

-- Challenges a proof of the device key must sign, each used once; only
-- their SHA-256 is kept. They go with their session.
CREATE TABLE binding_challenges (
    hash       BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX binding_challenges_session ON binding_challenges (session_id);
CREATE INDEX binding_challenges_expiry ON binding_challenges (expires_at);
