-- Every change to what FindSessionByTokenHash and FindAPIKeyByHash read is
-- announced on the channel doorman_invalidate, delivered at commit to every
-- Doorman node that listens, which drops the principals it cached for the
-- object named: "s:" session id, "u:" user id, "a:" account id, "k:" API key
-- id (postgres/cache.go). A session announces each write of its activity
-- too, at most one a minute: its next request reads it anew.
-- The trigger's arguments are the prefix and the column holding the id.
CREATE FUNCTION doorman_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    PERFORM pg_notify('doorman_invalidate', TG_ARGV[0] || (to_jsonb(r) ->> TG_ARGV[1]));
    RETURN r;
END
$$;

CREATE TRIGGER sessions_invalidate AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION doorman_invalidate('s:', 'id');
CREATE TRIGGER api_keys_invalidate AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION doorman_invalidate('k:', 'id');
CREATE TRIGGER users_invalidate AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION doorman_invalidate('u:', 'id');
CREATE TRIGGER devices_invalidate AFTER UPDATE OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION doorman_invalidate('u:', 'user_id');
CREATE TRIGGER accounts_invalidate AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION doorman_invalidate('a:', 'id');
