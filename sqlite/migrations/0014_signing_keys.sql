-- The keys that sign X-Doorman-Assertion, one per rotation period: the
-- UNIQUE period is what makes nodes that start together agree on one key.
-- private_key is sealed by --secret-key when it is set.
CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    period      INTEGER NOT NULL UNIQUE,
    private_key TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
