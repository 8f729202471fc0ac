-- Doorman schema 15 (SQLite): the claims of one-time form tokens.

-- One claim of a page's one-time token by the form it was sent with: only
-- a hash of the token and the form is kept, scoped to the session. The
-- primary key makes the first submission's claim the only one. The answers
-- are sealed under a key derived from the token, which is not stored.
-- A session's claims go with the session.
CREATE TABLE form_tokens (
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash      BLOB NOT NULL,
    claimed_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    done_at         INTEGER,
    outcome         BLOB,
    page            BLOB,
    page_expires_at INTEGER,
    PRIMARY KEY (session_id, token_hash)
) STRICT;

CREATE INDEX form_tokens_expiry ON form_tokens (expires_at);
CREATE INDEX form_tokens_page_expiry ON form_tokens (page_expires_at) WHERE page IS NOT NULL;
