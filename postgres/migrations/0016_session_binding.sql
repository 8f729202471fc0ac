-- Sessions bound to a device key (DBSC).

-- The device's public key (a JWK, '' while unbound), the secret that keys
-- the MAC of the session's bound cookies, and when the key was registered.
-- Written once: a binding is never replaced. A change of these columns is
-- an update of sessions, which sessions_invalidate (0011) announces.
ALTER TABLE sessions ADD COLUMN bound_key text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN bound_secret bytea;
ALTER TABLE sessions ADD COLUMN bound_at timestamptz;

-- Challenges a proof of the device key must sign, each used once; only
-- their SHA-256 is kept. They go with their session.
CREATE TABLE binding_challenges (
    hash       bytea PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    purpose    text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX binding_challenges_session ON binding_challenges (session_id);
CREATE INDEX binding_challenges_expiry ON binding_challenges (expires_at);
