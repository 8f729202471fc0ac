-- Doorman schema 13 (PostgreSQL): "Forgot password?" links and the requests
-- their limits count.

-- One reset link: only the SHA-256 of its single-use token is kept. A user's
-- links go with the user.
CREATE TABLE password_resets (
    id         text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX password_resets_user ON password_resets (user_id) WHERE used_at IS NULL;
CREATE INDEX password_resets_expiry ON password_resets (expires_at);

-- Every request, known email or not, for the limits per email and per
-- address. The email is kept only as its SHA-256; rows older than the
-- limits' window are deleted by the next request.
CREATE TABLE password_reset_requests (
    at         timestamptz NOT NULL,
    email_hash bytea NOT NULL,
    ip         text NOT NULL DEFAULT ''
);

CREATE INDEX password_reset_requests_email ON password_reset_requests (email_hash, at);
CREATE INDEX password_reset_requests_ip ON password_reset_requests (ip, at);
CREATE INDEX password_reset_requests_at ON password_reset_requests (at);
