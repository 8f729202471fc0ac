-- Doorman schema 5 (PostgreSQL): when a session last proved its password.

-- Set at sign-in and moved forward by a re-authentication; sensitive actions
-- ask for the password again when it is older than 15 minutes. NULL (rows of
-- earlier schemas) reads as the session's created_at: their sign-in.
ALTER TABLE sessions ADD COLUMN authenticated_at timestamptz;
