package app_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/doorman/doorman"
)

// nameLookups counts the audit log's lookups, by method.
type nameLookups struct {
	doorman.Store
	mu    sync.Mutex
	calls map[string]int
}

func (n *nameLookups) count(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.calls == nil {
		n.calls = map[string]int{}
	}
	n.calls[name]++
}

func (n *nameLookups) FindSessionsByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.Session, error) {
	n.count("sessions")
	return n.Store.FindSessionsByIDs(ctx, accountID, ids)
}

func (n *nameLookups) FindAPIKeysByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.APIKey, error) {
	n.count("keys")
	return n.Store.FindAPIKeysByIDs(ctx, accountID, ids)
}

func (n *nameLookups) FindUsersByEmails(ctx context.Context, accountID string, emails []string) ([]*doorman.User, error) {
	n.count("users")
	return n.Store.FindUsersByEmails(ctx, accountID, emails)
}

func (n *nameLookups) FindAuditEventByID(ctx context.Context, accountID, id string) (*doorman.AuditEvent, error) {
	n.count("event")
	return n.Store.FindAuditEventByID(ctx, accountID, id)
}

// TestAuditNames: a page of events gets its users, sessions and keys in one
// lookup per kind, from the admin's account only; objects that are gone,
// and another account's, are not named.
func TestAuditNames(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		counted := &nameLookups{Store: store}
		f := newFixture(t, counted)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		mike := f.user(t, "Company", "mike@company.com", doorman.RoleMember)
		f.user(t, "Agency", "boss@agency.com", doorman.RoleAdmin)
		_, admin := f.signInFrom(t, "admin@company.com", "198.51.100.7", "Mozilla/5.0 (admin)")
		for range 3 {
			f.signInFrom(t, "mike@company.com", "83.45.123.78", "Mozilla/5.0 (mike)")
		}
		_, boss := f.signInFrom(t, "boss@agency.com", "203.0.113.9", "Mozilla/5.0 (boss)")
		if _, _, err := f.svc.ForceSignOut(ctx, admin, mike.ID, "Left the company", adminMeta); err != nil {
			t.Fatal(err)
		}
		key, _, err := f.svc.CreateAPIKey(ctx, admin, "Production API", false, adminMeta)
		if err != nil {
			t.Fatal(err)
		}
		otherKey, _, err := f.svc.CreateAPIKey(ctx, boss, "Theirs", false, adminMeta)
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := f.svc.AuditLog(ctx, admin, doorman.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		// Events that name what is not the account's, or no longer is.
		gone := doorman.NewID(doorman.PrefixSession, f.clock.Now())
		evs = append(evs,
			&doorman.AuditEvent{Action: doorman.ActionSessionRevoked, Target: boss.Session.ID},
			&doorman.AuditEvent{Action: doorman.ActionSignIn, Target: gone},
			&doorman.AuditEvent{Action: doorman.ActionAPIKeyRevoked, Target: otherKey.ID},
			&doorman.AuditEvent{Action: doorman.ActionUserRemoved, Target: "boss@agency.com"},
			&doorman.AuditEvent{Action: doorman.ActionSignIn, Target: "not an id"},
		)
		counted.calls = nil
		n, err := f.svc.AuditNames(ctx, admin, evs)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"sessions": 1, "keys": 1, "users": 1}; !maps.Equal(counted.calls, want) {
			t.Errorf("lookups %v, want one per kind %v", counted.calls, want)
		}
		users := slices.Sorted(maps.Keys(n.Users))
		if !slices.Equal(users, []string{"admin@company.com", "mike@company.com"}) || n.Users["mike@company.com"].ID != mike.ID {
			t.Errorf("users %q, want the admin (actor) and mike (target)", users)
		}
		if len(n.Sessions) != 4 || n.Sessions[admin.Session.ID] == nil || n.Sessions[boss.Session.ID] != nil || n.Sessions[gone] != nil {
			t.Errorf("%d sessions named, want the four sign-ins of the account only", len(n.Sessions))
		}
		for id, s := range n.Sessions {
			if s.AccountID != admin.Account.ID || s.ID != id {
				t.Errorf("session %s of account %s", id, s.AccountID)
			}
		}
		if len(n.APIKeys) != 1 || n.APIKeys[key.ID] == nil || n.APIKeys[key.ID].Name != "Production API" {
			t.Errorf("keys %v, want the account's one", n.APIKeys)
		}

		// Nothing to look up: no query.
		counted.calls = nil
		if n, err := f.svc.AuditNames(ctx, admin, []*doorman.AuditEvent{{Action: doorman.ActionSettingsUpdated, Target: "Company"}}); err != nil ||
			len(n.Users)+len(n.Sessions)+len(n.APIKeys) != 0 || len(counted.calls) != 0 {
			t.Errorf("an event naming the account: %v, %+v, lookups %v", err, n, counted.calls)
		}
		_, member := f.signIn(t, "mike@company.com", false)
		if _, err := f.svc.AuditNames(ctx, member, evs); doorman.ErrorCode(err) != doorman.EFORBIDDEN {
			t.Errorf("a member: %v, want EFORBIDDEN", err)
		}
	})
}

// TestAuditEvent: an admin reads one event of their account; another
// account's, an unknown and a malformed id are ENOTFOUND alike, the
// malformed without a query.
func TestAuditEvent(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		counted := &nameLookups{Store: store}
		f := newFixture(t, counted)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		f.user(t, "Company", "mike@company.com", doorman.RoleMember)
		f.user(t, "Agency", "boss@agency.com", doorman.RoleAdmin)
		_, admin := f.signIn(t, "admin@company.com", false)
		_, boss := f.signIn(t, "boss@agency.com", false)
		_, mike := f.signIn(t, "mike@company.com", false)
		mine := events(t, store, admin.Account.ID)[0]
		theirs := events(t, store, boss.Account.ID)[0]

		got, err := f.svc.AuditEvent(ctx, admin, mine.ID)
		if err != nil || got.ID != mine.ID || got.Action != mine.Action || got.Target != mine.Target {
			t.Fatalf("AuditEvent(own) = %+v, %v", got, err)
		}
		_, err = f.svc.AuditEvent(ctx, admin, theirs.ID)
		wantCode(t, "another account's event", err, doorman.ENOTFOUND)
		_, err = f.svc.AuditEvent(ctx, admin, doorman.NewID(doorman.PrefixEvent, f.clock.Now()))
		wantCode(t, "an unknown event", err, doorman.ENOTFOUND)
		counted.calls = nil
		for _, id := range []string{"", "evt_x", "evt_\xff", mine.ID + "0", strings.ToLower(mine.ID), "sess_" + mine.ID[4:]} {
			_, err := f.svc.AuditEvent(ctx, admin, id)
			wantCode(t, "malformed id "+id, err, doorman.ENOTFOUND)
		}
		if len(counted.calls) != 0 {
			t.Errorf("malformed ids reached the store: %v", counted.calls)
		}
		_, err = f.svc.AuditEvent(ctx, mike, mine.ID)
		wantCode(t, "a member", err, doorman.EFORBIDDEN)
	})
}

// TestAuditActionsAreConstants: the service records actions only through
// the root package's Action constants (never a string literal), so that
// the words table, which a root test checks against those constants,
// covers every action it writes.
func TestAuditActionsAreConstants(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	calls := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "event" && len(n.Args) >= 2 {
					calls++
					if _, lit := n.Args[1].(*ast.BasicLit); lit {
						t.Errorf("%s: an audit action written as a literal", fset.Position(n.Pos()))
					}
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Action" && i < len(n.Rhs) {
						if _, lit := n.Rhs[i].(*ast.BasicLit); lit {
							t.Errorf("%s: an audit action written as a literal", fset.Position(n.Pos()))
						}
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Action" {
					if _, lit := n.Value.(*ast.BasicLit); lit {
						t.Errorf("%s: an audit action written as a literal", fset.Position(n.Pos()))
					}
				}
			}
			return true
		})
	}
	if calls < 30 {
		t.Errorf("found %d calls of event(): the scan is broken", calls)
	}
}
