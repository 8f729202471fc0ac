package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/postgres"
	"github.com/doorman/doorman/sqlite"
)

// hungStore is a store whose Ping hangs until its context ends, as a call
// to a database that stopped answering does; it records the context it got.
// Its other methods are never called.
type hungStore struct {
	doorman.Store
	got context.Context
}

func (h *hungStore) Ping(ctx context.Context) error {
	h.got = ctx
	<-ctx.Done()
	return ctx.Err()
}

// lateNotFoundStore answers "not found" once its context has ended, as a
// driver interrupted mid-statement may look like an empty result.
type lateNotFoundStore struct{ doorman.Store }

func (lateNotFoundStore) FindSessionByTokenHash(ctx context.Context, _ []byte) (*doorman.Principal, error) {
	<-ctx.Done()
	return nil, doorman.Errorf(doorman.ENOTFOUND, "session not found")
}

// An answer that comes after the deadline is an outage, never the store's
// word: "not found" there would sign a valid session out.
func TestWithDeadlineDistrustsLateAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outages := quietOutages()
		store := app.WithDeadline(lateNotFoundStore{}, time.Second, outages)
		_, err := store.FindSessionByTokenHash(t.Context(), make([]byte, 32))
		if !app.IsUnavailable(err) || doorman.ErrorCode(err) == doorman.ENOTFOUND {
			t.Errorf("err = %v (code %s), want unavailable, without the late not_found", err, doorman.ErrorCode(err))
		}
		if outages.Failures() != 1 {
			t.Errorf("Failures() = %d, want 1", outages.Failures())
		}
		svc := app.NewService(store, cheap)
		svc.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
		tok, _ := doorman.NewToken()
		if _, err := svc.Authenticate(t.Context(), tok, app.Meta{}); !app.IsUnavailable(err) {
			t.Errorf("Authenticate: %v, want unavailable (not a 401)", err)
		}
	})
}

// memoryStore answers Ping at once without looking at its context, as a
// store serving from memory does.
type memoryStore struct {
	doorman.Store
	got context.Context
}

func (m *memoryStore) Ping(ctx context.Context) error { m.got = ctx; return nil }

func quietOutages() *app.OutageLog {
	return &app.OutageLog{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestWithDeadlineEndsAHungCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hungStore{}
		outages := quietOutages()
		store := app.WithDeadline(h, 300*time.Millisecond, outages)
		type key struct{}
		ctx := context.WithValue(t.Context(), key{}, "request value")

		start := time.Now()
		err := store.Ping(ctx)
		if took := time.Since(start); took != 300*time.Millisecond { // the bubble's clock: exact
			t.Errorf("the hung call returned after %s, want the 300ms deadline", took)
		}
		if !app.IsUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want unavailable wrapping the deadline", err)
		}
		if outages.Failures() != 1 {
			t.Errorf("Failures() = %d, want 1", outages.Failures())
		}
		if dl, ok := h.got.Deadline(); !ok || !dl.Equal(start.Add(300*time.Millisecond)) {
			t.Errorf("the store saw deadline %v %t, want start+300ms", dl, ok)
		}
		if v := h.got.Value(key{}); v != "request value" {
			t.Errorf("the store saw value %v, want the request's", v)
		}
	})
}

// A caller's earlier deadline is kept, and a later one shortened.
func TestWithDeadlineKeepsAnEarlierDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := app.WithDeadline(&hungStore{}, time.Second, quietOutages())
		for _, tc := range []struct {
			caller, want time.Duration
		}{
			{100 * time.Millisecond, 100 * time.Millisecond},
			{10 * time.Second, time.Second},
		} {
			ctx, cancel := context.WithTimeout(t.Context(), tc.caller)
			start := time.Now()
			err := store.Ping(ctx)
			cancel()
			if took := time.Since(start); took != tc.want {
				t.Errorf("caller's deadline %s: the call took %s, want %s", tc.caller, took, tc.want)
			}
			if !app.IsUnavailable(err) {
				t.Errorf("caller's deadline %s: err = %v, want unavailable", tc.caller, err)
			}
		}
	})
}

// A caller that gives up (a client that went away) is not an outage.
func TestWithDeadlineCallerCancelIsNoOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outages := quietOutages()
		store := app.WithDeadline(&hungStore{}, time.Second, outages)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := store.Ping(ctx)
		if !errors.Is(err, context.Canceled) || app.IsUnavailable(err) {
			t.Errorf("err = %v, want the cancellation, not unavailable", err)
		}
		if outages.Failures() != 0 {
			t.Errorf("Failures() = %d, want 0", outages.Failures())
		}
	})
}

// A call that never waits arms no timer, yet its context is a full one:
// it has the deadline, and it ends when the call returns.
func TestWithDeadlineCallContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memoryStore{}
		store := app.WithDeadline(m, time.Second, quietOutages())
		start := time.Now()
		if err := store.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if dl, ok := m.got.Deadline(); !ok || !dl.Equal(start.Add(time.Second)) {
			t.Errorf("deadline %v %t, want start+1s", dl, ok)
		}
		select {
		case <-m.got.Done():
		default:
			t.Error("the context of a call that returned is not done")
		}
		if m.got.Err() == nil {
			t.Error("Err() is nil once Done is closed")
		}
	})
}

func TestWithDeadlinePassesStoreAnswersThrough(t *testing.T) {
	outages := quietOutages()
	store := app.WithDeadline(testdb.SQLite(t), time.Second, outages)
	_, err := store.FindSessionByTokenHash(t.Context(), make([]byte, 32))
	if doorman.ErrorCode(err) != doorman.ENOTFOUND || app.IsUnavailable(err) {
		t.Errorf("err = %v, want not_found as the store said", err)
	}
	if err := store.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if outages.Failures() != 0 {
		t.Errorf("Failures() = %d, want 0: the store answered", outages.Failures())
	}
}

// A database that holds its lock past the deadline: the sign-in (a write)
// answers unavailable within the deadline and some slack, not after
// SQLite's busy timeout (10 s) or however long PostgreSQL would wait.
func TestWithDeadlineLockedDatabase(t *testing.T) {
	lock := map[string]func(t *testing.T, store doorman.Store) (release func()){
		"sqlite": func(t *testing.T, store doorman.Store) func() {
			// A write transaction of another connection: _txlock=immediate
			// takes the write lock at BEGIN.
			tx, err := store.(*sqlite.Store).DB().BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec("DELETE FROM sessions WHERE id = 'none'"); err != nil {
				t.Fatal(err)
			}
			return func() { tx.Rollback() }
		},
		"postgres": func(t *testing.T, store doorman.Store) func() {
			tx, err := store.(*postgres.Store).Pool().Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(t.Context(), "LOCK TABLE sessions IN EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			return func() { tx.Rollback(context.Background()) }
		},
	}
	stores(t, func(t *testing.T, raw doorman.Store) {
		outages := quietOutages()
		f := newFixture(t, app.WithDeadline(raw, 300*time.Millisecond, outages))
		f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
		name := "sqlite"
		if _, ok := raw.(*postgres.Store); ok {
			name = "postgres"
		}
		release := lock[name](t, raw)

		start := time.Now()
		_, _, err := f.svc.SignIn(t.Context(), app.SignInRequest{Email: "ana@acme.example", Password: password,
			Meta: app.Meta{IP: "83.45.123.78", UserAgent: "test-agent"}})
		took := time.Since(start)
		release()
		if !app.IsUnavailable(err) || doorman.ErrorCode(err) != doorman.EINTERNAL {
			t.Fatalf("sign-in on a locked database: %v (code %s), want unavailable and no store answer in the chain",
				err, doorman.ErrorCode(err))
		}
		if took > 5*time.Second { // a failure guard, far above the deadline
			t.Errorf("sign-in on a locked database answered after %s, want about the 300ms deadline", took)
		}
		if outages.Failures() == 0 {
			t.Error("the failure was not counted")
		}
		// The lock gone, the same store serves again.
		f.signIn(t, "ana@acme.example", false)
	})
}
