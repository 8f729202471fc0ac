-- Doorman schema 2 (PostgreSQL): devices recognised by their cookie across
-- sign-ins, and the addresses each session used.

-- A device is one browser of one user, known by the SHA-256 of its
-- long-lived device cookie. The same cookie signing in as another user is
-- another device: a device is never shared between users.
CREATE TABLE devices (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash      bytea NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    logins        bigint NOT NULL DEFAULT 0,
    UNIQUE (user_id, key_hash)
);

CREATE INDEX devices_account ON devices (account_id);

-- Sessions keep their row when a device goes (with its user, which takes
-- them too); new_device marks a sign-in from a device new to the user.
ALTER TABLE sessions
    ADD COLUMN device_id text REFERENCES devices (id) ON DELETE SET NULL,
    ADD COLUMN new_device boolean NOT NULL DEFAULT false;

CREATE INDEX sessions_device ON sessions (device_id) WHERE device_id IS NOT NULL;

-- Every address a session used, with where it was, for the session's
-- details page and later risk checks. Deleted with the session.
CREATE TABLE session_ips (
    session_id     text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    account_id     text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ip             text NOT NULL,
    city           text NOT NULL DEFAULT '',
    region         text NOT NULL DEFAULT '',
    country        text NOT NULL DEFAULT '',
    country_code   text NOT NULL DEFAULT '',
    isp            text NOT NULL DEFAULT '',
    location_local boolean NOT NULL DEFAULT false,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    PRIMARY KEY (session_id, ip)
);

CREATE INDEX session_ips_account ON session_ips (account_id);

-- Sessions from before this schema start their history with the address
-- and place they hold.
INSERT INTO session_ips (session_id, account_id, ip, city, region, country, country_code, isp,
                         location_local, first_seen_at, last_seen_at)
SELECT id, account_id, ip, city, region, country, country_code, isp,
       location_local, created_at, GREATEST(created_at, last_active_at)
FROM sessions WHERE ip <> '';
