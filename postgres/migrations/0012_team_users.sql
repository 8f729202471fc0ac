-- Doorman schema 12 (PostgreSQL): the life of a user in a team. An invited
-- user has a row (invited) and one pending invitation; a removed user keeps
-- the row (removed_at set, disabled) so that the audit log still names a
-- person, and keeps its email reserved in the account. The users trigger of
-- 0011 announces every change of these columns as of any other.

ALTER TABLE users ADD COLUMN invited boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN removed_at timestamptz;

-- One invitation per invited user; only the SHA-256 of its token is kept.
-- Accepting or revoking it deletes the row, so a link works once.
CREATE TABLE invitations (
    user_id    text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- The last-admin rule counts an account's active admins.
CREATE INDEX users_admins ON users (account_id, role) WHERE role = 'admin';
