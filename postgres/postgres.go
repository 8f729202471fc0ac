// Package postgres implements doorman.Store on PostgreSQL with pgx's native
// API. Its schema lives in the embedded migrations, applied on Open; the
// search_path of the DSN decides which schema holds the tables.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/doorman/doorman"
)

// defaultConnectTimeout bounds connecting when the DSN sets no
// connect_timeout.
const defaultConnectTimeout = 10 * time.Second

// Store is a doorman.Store backed by a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool

	// cache serves FindSessionByTokenHash and FindAPIKeyByHash while the
	// listener is current (cache.go).
	cache    *principalCache
	listener *listener
	stop     context.CancelFunc
	done     chan struct{}
}

var _ doorman.Store = (*Store)(nil)

// Open connects to the database at dsn, applies any pending migration and
// returns the store. Several processes may open the same database at once:
// migrations are serialised by an advisory lock.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// The pool dials new connections in the background, detached from
		// the deadline of the call that asked for one: without a bound, a
		// server that accepts but never answers would hold a pool slot for
		// as long as TCP lives, long after the outage ends.
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, cache: newPrincipalCache(), done: make(chan struct{})}
	s.listener = newListener(cfg.ConnConfig.Copy(), s.cache)
	var lctx context.Context
	lctx, s.stop = context.WithCancel(context.Background())
	go func() {
		defer close(s.done)
		s.listener.run(lctx)
	}()
	return s, nil
}

// Listening reports whether the node's cache is current: its listener
// heard its own ping back less than the lease ago. While it is not, every
// principal is read from the database.
func (s *Store) Listening() bool { return s.cache.serving() }

// ListenerReconnects returns how many times the listener's connection was
// lost and opened anew.
func (s *Store) ListenerReconnects() int64 { return s.listener.reconnects.Load() }

// Pool returns the store's connection pool, for callers that need
// PostgreSQL itself (LISTEN/NOTIFY, tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping returns nil when the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection of the pool. It always returns nil.
func (s *Store) Close() error {
	s.stop()
	s.listener.stop()
	<-s.done
	s.pool.Close()
	return nil
}

// SQLSTATE codes the store turns into *doorman.Error.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
)

// sqlState returns the SQLSTATE of a PostgreSQL error in err's chain, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// classDataException is the SQLSTATE class of values PostgreSQL refuses:
// invalid byte sequences and NUL in text (22021), characters that cannot be
// converted (22P05), text that is not a
// valid value of its type (22P02), strings too long (22001), numbers out of
// range (22003), and the like.
const classDataException = "22"

// dataMessages say, for the data exceptions a client's input can cause, what
// is wrong with the input; any other code of the class is "a value is not
// valid".
var dataMessages = map[string]string{
	"22021": doorman.MsgInvalidText,
	"22P05": "a text value contains a character that cannot be stored",
	"22P02": "a value is not valid for its field",
	"22001": "a text value is too long",
	"22003": "a number is out of range",
}

// wrap passes a *doorman.Error through, turns a data exception (class 22:
// bytes or values PostgreSQL refuses) into EINVALID, since it is the
// input's fault and not the store's, and prefixes any other error with the
// failed operation.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *doorman.Error
	if errors.As(err, &de) {
		return err
	}
	if code := sqlState(err); strings.HasPrefix(code, classDataException) {
		msg, ok := dataMessages[code]
		if !ok {
			msg = "a value is not valid"
		}
		return doorman.Errorf(doorman.EINVALID, "%s", msg)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// query collects the WHERE conditions and arguments of a statement built
// from a filter; arg returns the placeholder of the value it adds.
type query struct {
	conds []string
	args  []any
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *query) where(cond string) { q.conds = append(q.conds, cond) }

func (q *query) clause() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}

// page appends LIMIT and OFFSET; a limit of 0 or less means none.
func (q *query) page(limit, offset int) string {
	var b strings.Builder
	if limit > 0 {
		b.WriteString(" LIMIT " + q.arg(limit))
	}
	if offset > 0 {
		b.WriteString(" OFFSET " + q.arg(offset))
	}
	return b.String()
}

// count returns how many rows of from match q's conditions. The listing
// queries read the total with count(*) OVER (), which yields nothing when
// Offset is past the last row; only then is this second query needed.
func (q *query) count(ctx context.Context, db *pgxpool.Pool, from string, nargs int) (int, error) {
	var n int
	err := db.QueryRow(ctx, "SELECT count(*) FROM "+from+q.clause(), q.args[:nargs]...).Scan(&n)
	return n, err
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
