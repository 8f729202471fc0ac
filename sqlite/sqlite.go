// Package sqlite implements doorman.Store on a SQLite file, with the pure-Go
// driver modernc.org/sqlite and hand-written SQL.
//
// Times are stored as INTEGER microseconds since the Unix epoch, UTC. Every
// connection of the pool runs with foreign keys on, a 10 s busy timeout, WAL
// and synchronous=NORMAL, and write transactions take the write lock at BEGIN
// so that two writers never deadlock upgrading a read lock.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dsnParams are set on every pooled connection. The pragmas are per
// connection, so they must live in the DSN rather than in a one-off Exec.
const dsnParams = "_pragma=foreign_keys(1)" +
	"&_pragma=busy_timeout(10000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_txlock=immediate"

// maxIdleConns keeps enough connections open that the hot path does not pay
// for opening one, running its pragmas and re-preparing statements.
const maxIdleConns = 16

// Store is a doorman.Store on one SQLite database file. It is safe for
// concurrent use, also by several processes on the same file.
type Store struct {
	db   *sql.DB
	path string

	// Prepared once at Open: the statements every request runs, and those
	// of the touches that follow.
	byToken       *sql.Stmt
	touch         *sql.Stmt
	touchPlace    *sql.Stmt
	recordIPKeep  *sql.Stmt
	recordIPPlace *sql.Stmt

	// cache serves FindSessionByTokenHash and FindAPIKeyByHash without
	// reading the row while no connection has committed to the database.
	cache *principalCache
	watch commitWatch
}

var _ doorman.Store = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database at path, applies the
// embedded migrations that have not yet run, and prepares the hot-path
// statements. path is a file name; ":memory:" and names containing '?' are
// not supported, as every pooled connection must reach the same database.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.Contains(path, ":memory:") {
		return nil, fmt.Errorf("sqlite: open: unsupported path %q", path)
	}
	db, err := sql.Open("sqlite", path+"?"+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db.SetMaxIdleConns(maxIdleConns)
	s := &Store{db: db, path: path}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	if err := migrate(ctx, s.db); err != nil {
		return err
	}
	var err error
	if s.byToken, err = s.db.PrepareContext(ctx, findByTokenSQL); err != nil {
		return fmt.Errorf("sqlite: prepare find session by token: %w", err)
	}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.touch, touchSQL},
		{&s.touchPlace, touchPlaceSQL},
		{&s.recordIPKeep, recordIPSQL},
		{&s.recordIPPlace, recordIPPlaceSQL},
	} {
		if *p.st, err = s.db.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("sqlite: prepare touch session: %w", err)
		}
	}
	if s.watch, err = newCommitWatch(ctx, s.db, s.path); err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	s.cache = newPrincipalCache(s.watch)
	return nil
}

// busyTimeout is the busy_timeout of dsnParams.
const busyTimeout = 10 * time.Second

// ping opens the first connection. The first connections of processes that
// open a new file together race to switch it to WAL, and SQLite answers the
// losers SQLITE_BUSY at once instead of waiting out busy_timeout; they try
// again, for as long as that timeout.
func (s *Store) ping(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := s.db.PingContext(ctx)
		var e *sqlite.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// DB returns the underlying pool, for tests and operator tools.
func (s *Store) DB() *sql.DB { return s.db }

// Close releases the prepared statements and the store's connections.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.byToken, s.touch, s.touchPlace, s.recordIPKeep, s.recordIPPlace} {
		if st != nil {
			st.Close()
		}
	}
	if s.watch != nil {
		s.watch.close()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Ping returns nil when the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction, which takes the write lock at BEGIN
// (_txlock=immediate), and commits if fn returns nil. Errors from fn are
// returned as they are; op names the operation in the others.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return nil
}

// Times are INTEGER microseconds since the Unix epoch. These two pairs are
// the only conversions between time.Time and the database.

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func toNullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMicros(*t), Valid: true}
}

func fromNullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// constraint returns the extended result code of a constraint violation in
// err's chain (lib.SQLITE_CONSTRAINT_UNIQUE, …), or 0 if err is not one.
func constraint(err error) int {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return 0
	}
	if e.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		return 0
	}
	return e.Code()
}

// isUnique reports whether err is a violation of a UNIQUE or PRIMARY KEY constraint.
func isUnique(err error) bool {
	c := constraint(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// wrap turns a constraint violation the caller did not expect into EINVALID
// (a CHECK or NOT NULL the Service should have caught) and wraps any other
// error with the operation's name.
func wrap(op string, err error) error {
	switch constraint(err) {
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return doorman.Errorf(doorman.EINVALID, "%s: a value is out of range", op)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// where collects the conditions and arguments of a query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page returns the LIMIT/OFFSET clause for limit (0: none) and offset, with
// its arguments.
func page(limit, offset int) (string, []any) {
	switch {
	case limit > 0:
		return " LIMIT ? OFFSET ?", []any{limit, max(offset, 0)}
	case offset > 0:
		return " LIMIT -1 OFFSET ?", []any{offset}
	}
	return "", nil
}

// list runs countSQL (when paging makes it necessary) and listSQL, both with
// args, in one read transaction so that the total agrees with the page. scan
// is called for each row of listSQL and returns how many it has read.
func (s *Store) list(ctx context.Context, op, countSQL, listSQL string, args []any, limit, offset int, scan func(*sql.Rows) (int, error)) (int, error) {
	if err := checkArgs(args); err != nil {
		return 0, err
	}
	paged := limit > 0 || offset > 0
	var q interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	} = s.db
	var total int
	if paged {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return 0, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		defer tx.Rollback()
		if err := tx.QueryRowContext(ctx, countSQL, args...).Scan(&total); err != nil {
			return 0, fmt.Errorf("sqlite: %s: count: %w", op, err)
		}
		q = tx
	}
	lim, largs := page(limit, offset)
	rows, err := q.QueryContext(ctx, listSQL+lim, append(args[:len(args):len(args)], largs...)...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer rows.Close()
	n, err := scan(rows)
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if !paged {
		total = n
	}
	return total, nil
}

// checkArgs returns EINVALID when a text argument of a query is not
// doorman.ValidText. SQLite would store or compare such bytes as they are;
// PostgreSQL refuses them, and both stores must answer alike.
func checkArgs(args []any) error {
	for _, a := range args {
		if s, ok := a.(string); ok && !doorman.ValidText(s) {
			return doorman.CheckText(s)
		}
	}
	return nil
}

func notFound(format string, args ...any) error {
	return doorman.Errorf(doorman.ENOTFOUND, format, args...)
}

func conflict(format string, args ...any) error {
	return doorman.Errorf(doorman.ECONFLICT, format, args...)
}

// alertTexts checks the text of an alert and its deliveries.
func alertTexts(a *doorman.Alert, ds []*doorman.Delivery) error {
	if err := doorman.CheckText(a.ID, a.AccountID, a.UserID, a.SessionID, a.Kind); err != nil {
		return err
	}
	for _, d := range ds {
		if err := doorman.CheckText(d.ID, d.AlertID, d.AccountID, d.Channel, d.Target, d.Status, d.LastError, d.LinkToken); err != nil {
			return err
		}
	}
	return nil
}

// usageTexts checks the text of API keys' usage.
func usageTexts(usage []doorman.APIKeyUsage) error {
	for _, u := range usage {
		if err := doorman.CheckText(u.KeyID, u.IP, u.UserAgent); err != nil {
			return err
		}
	}
	return nil
}

// touchTexts checks the text a touch writes.
func touchTexts(id string, t doorman.Touch) error {
	if err := doorman.CheckText(id, t.IP, t.LastPage, t.UserAgent); err != nil {
		return err
	}
	if l := t.Location; l != nil {
		if err := doorman.CheckText(l.City, l.Region, l.Country, l.CountryCode, l.ISP); err != nil {
			return err
		}
	}
	if d := t.Device; d != nil {
		if err := doorman.CheckText(d.Browser, d.BrowserVersion, d.OS, d.OSVersion, d.Model, d.Type); err != nil {
			return err
		}
	}
	if r := t.Risk; r != nil {
		return doorman.CheckText(append([]string{r.Level}, r.Reasons...)...)
	}
	return nil
}
