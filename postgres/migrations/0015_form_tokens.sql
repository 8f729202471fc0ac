-- Doorman schema 15 (PostgreSQL): the claims of one-time form tokens.

-- One claim of a page's one-time token by the form it was sent with: only
-- a hash of the token and the form is kept, scoped to the session. The
-- primary key makes the first submission's claim the only one. The answers
-- are sealed under a key derived from the token, which is not stored.
-- A session's claims go with the session.
CREATE TABLE form_tokens (
    session_id      text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL,
    claimed_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    done_at         timestamptz,
    outcome         bytea,
    page            bytea,
    page_expires_at timestamptz,
    PRIMARY KEY (session_id, token_hash)
);

CREATE INDEX form_tokens_expiry ON form_tokens (expires_at);
CREATE INDEX form_tokens_page_expiry ON form_tokens (page_expires_at) WHERE page IS NOT NULL;
