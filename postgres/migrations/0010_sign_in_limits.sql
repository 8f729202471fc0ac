-- Doorman schema 10 (PostgreSQL): the sign-in limits, shared by every node
-- and kept across restarts.

-- One bucket per key (a SHA-256 hash of the email or address, never either
-- in clear), kept as the instant it is full again: a bucket full again
-- before now reads as full, so such rows can go (PurgeLimits).
CREATE TABLE sign_in_limits (
	key     bytea PRIMARY KEY,
	full_at timestamptz NOT NULL
);

CREATE INDEX sign_in_limits_full_at ON sign_in_limits (full_at);
