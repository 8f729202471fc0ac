-- Doorman schema 2 (SQLite): devices recognised by their cookie across
-- sign-ins, and the addresses each session used.

-- A device is one browser of one user, known by the SHA-256 of its
-- long-lived device cookie. The same cookie signing in as another user is
-- another device: a device is never shared between users.
CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash      BLOB NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    logins        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, key_hash)
) STRICT;

CREATE INDEX devices_account ON devices (account_id);

-- Sessions keep their row when a device goes (with its user, which takes
-- them too); new_device marks a sign-in from a device new to the user.
ALTER TABLE sessions ADD COLUMN device_id TEXT REFERENCES devices (id) ON DELETE SET NULL;
ALTER TABLE sessions ADD COLUMN new_device INTEGER NOT NULL DEFAULT 0;

CREATE INDEX sessions_device ON sessions (device_id);

-- Every address a session used, with where it was, for the session's
-- details page and later risk checks. Deleted with the session.
CREATE TABLE session_ips (
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ip             TEXT NOT NULL,
    city           TEXT NOT NULL DEFAULT '',
    region         TEXT NOT NULL DEFAULT '',
    country        TEXT NOT NULL DEFAULT '',
    country_code   TEXT NOT NULL DEFAULT '',
    isp            TEXT NOT NULL DEFAULT '',
    location_local INTEGER NOT NULL DEFAULT 0,
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    PRIMARY KEY (session_id, ip)
) STRICT;

CREATE INDEX session_ips_account ON session_ips (account_id);

-- Sessions from before this schema start their history with the address
-- and place they hold.
INSERT INTO session_ips (session_id, account_id, ip, city, region, country, country_code, isp,
                         location_local, first_seen_at, last_seen_at)
SELECT id, account_id, ip, city, region, country, country_code, isp,
       location_local, created_at, max(created_at, last_active_at)
FROM sessions WHERE ip <> '';
