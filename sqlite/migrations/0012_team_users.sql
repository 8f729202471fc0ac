-- Doorman schema 12 (SQLite): the life of a user in a team. An invited user
-- has a row (invited = 1) and one pending invitation; a removed user keeps
-- the row (removed_at set, disabled = 1) so that the audit log still names
-- a person, and keeps its email reserved in the account.

ALTER TABLE users ADD COLUMN invited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN removed_at INTEGER;

-- One invitation per invited user; only the SHA-256 of its token is kept.
-- Accepting or revoking it deletes the row, so a link works once.
CREATE TABLE invitations (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- The last-admin rule counts an account's active admins.
CREATE INDEX users_admins ON users (account_id, role) WHERE role = 'admin';
