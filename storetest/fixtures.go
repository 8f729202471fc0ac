package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

const (
	us  = time.Microsecond
	day = 24 * time.Hour
)

// at returns Base plus d.
func at(d time.Duration) time.Time { return Base.Add(d) }

// ptr returns a pointer to t.
func ptr(t time.Time) *time.Time { return &t }

// env is one store under test with the helpers that write its fixtures
// through the store's own API.
type env struct {
	tb  testing.TB
	s   doorman.Store
	ctx context.Context
}

func newEnv(tb testing.TB, open opener) *env {
	tb.Helper()
	s := open(tb)
	if s == nil {
		tb.Fatal("open returned a nil store")
	}
	return &env{tb: tb, s: s, ctx: tb.Context()}
}

var seq atomic.Int64

// uniq returns a short string unique within the process, for names.
func uniq() string { return fmt.Sprint(seq.Add(1)) }

// account creates an account named name with settings set.
func (e *env) account(name string, set doorman.Settings) *doorman.Account {
	e.tb.Helper()
	a := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, Base), Name: name, Settings: set, CreatedAt: at(-90 * day)}
	if err := e.s.CreateAccount(e.ctx, a); err != nil {
		e.tb.Fatalf("CreateAccount(%s): %v", name, err)
	}
	return a
}

// user creates a member of a with that email.
func (e *env) user(a *doorman.Account, email string) *doorman.User {
	e.tb.Helper()
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: email,
		Name: "User " + email, Role: doorman.RoleMember, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		CreatedAt: at(-60 * day)}
	if err := e.s.CreateUser(e.ctx, u, nil); err != nil {
		e.tb.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// newSession returns a session of u, created and last active at Base, with
// every descriptive field filled in; edit (if not nil) changes it before it
// is returned. It is not stored.
func newSession(u *doorman.User, edit func(*doorman.Session)) *doorman.Session {
	_, hash := doorman.NewToken()
	s := &doorman.Session{
		ID: doorman.NewID(doorman.PrefixSession, Base), TokenHash: hash,
		UserID: u.ID, AccountID: u.AccountID,
		CreatedAt: Base, LastActiveAt: Base,
		IP:        "203.0.113.7",
		UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Device:    doorman.Device{Browser: "Chrome", BrowserVersion: "131.0", OS: "macOS", OSVersion: "10.15.7", Model: "Mac", Type: "desktop"},
		Location:  doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Example Telecom"},
		Activity:  doorman.Activity{Logins: 1, Actions: 0, LastPage: "Sign in"},
		Risk:      doorman.Risk{Level: "none"},
	}
	if edit != nil {
		edit(s)
	}
	return s
}

// session stores newSession(u, edit) without an audit event.
func (e *env) session(u *doorman.User, edit func(*doorman.Session)) *doorman.Session {
	e.tb.Helper()
	s := newSession(u, edit)
	if err := e.s.CreateSession(e.ctx, s, nil); err != nil {
		e.tb.Fatalf("CreateSession: %v", err)
	}
	return s
}

// event returns an audit event of the account (may be "") at t.
func event(accountID, action string, t time.Time) *doorman.AuditEvent {
	return &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, t), AccountID: accountID, At: t,
		ActorID: "usr_actor", Actor: "admin@example.com", Action: action, Target: "target",
		IP: "198.51.100.4", UserAgent: "curl/8.0"}
}

// audits returns FindAuditEvents(f) or fails.
func (e *env) audits(f doorman.AuditFilter) ([]*doorman.AuditEvent, int) {
	e.tb.Helper()
	list, n, err := e.s.FindAuditEvents(e.ctx, f)
	if err != nil {
		e.tb.Fatalf("FindAuditEvents(%+v): %v", f, err)
	}
	return list, n
}

// auditTotal returns how many audit events the store holds, in any account.
func (e *env) auditTotal() int {
	e.tb.Helper()
	_, n := e.audits(doorman.AuditFilter{})
	return n
}

// sessionByID returns the session with that id, in any account, or fails.
func (e *env) sessionByID(id string) *doorman.Session {
	e.tb.Helper()
	s, err := e.s.FindSessionByID(e.ctx, "", id)
	if err != nil {
		e.tb.Fatalf("FindSessionByID(%q): %v", id, err)
	}
	return s
}

// sessions returns FindSessions(f) or fails.
func (e *env) sessions(f doorman.SessionFilter) ([]*doorman.Session, int) {
	e.tb.Helper()
	list, n, err := e.s.FindSessions(e.ctx, f)
	if err != nil {
		e.tb.Fatalf("FindSessions(%+v): %v", f, err)
	}
	return list, n
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, err error, code, what string) {
	tb.Helper()
	if got := doorman.ErrorCode(err); got != code {
		tb.Errorf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

// ok fails the test if err is not nil.
func ok(tb testing.TB, err error, what string) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func timeEq(a, b time.Time) bool { return a.Equal(b) }

func ptrEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func fmtPtr(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return fmtTime(*t)
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// diff collects field mismatches.
type diff []string

func (d *diff) time(name string, got, want time.Time) {
	if !timeEq(got, want) {
		*d = append(*d, fmt.Sprintf("%s = %s, want %s", name, fmtTime(got), fmtTime(want)))
	}
}

func (d *diff) ptr(name string, got, want *time.Time) {
	if !ptrEq(got, want) {
		*d = append(*d, fmt.Sprintf("%s = %s, want %s", name, fmtPtr(got), fmtPtr(want)))
	}
}

func (d *diff) eq(name string, got, want any) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s = %#v, want %#v", name, got, want))
	}
}

func (d diff) report(tb testing.TB, what string) {
	tb.Helper()
	if len(d) > 0 {
		tb.Errorf("%s differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func diffAccount(got, want *doorman.Account) diff {
	var d diff
	if got == nil {
		return diff{"account is nil"}
	}
	d.eq("ID", got.ID, want.ID)
	d.eq("Name", got.Name, want.Name)
	d.eq("Settings", got.Settings, want.Settings)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	return d
}

func diffUser(got, want *doorman.User) diff {
	var d diff
	if got == nil {
		return diff{"user is nil"}
	}
	d.eq("ID", got.ID, want.ID)
	d.eq("AccountID", got.AccountID, want.AccountID)
	d.eq("Email", got.Email, want.Email)
	d.eq("Name", got.Name, want.Name)
	d.eq("Role", got.Role, want.Role)
	d.eq("PasswordHash", got.PasswordHash, want.PasswordHash)
	d.eq("Disabled", got.Disabled, want.Disabled)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	return d
}

func diffSession(got, want *doorman.Session) diff {
	var d diff
	if got == nil {
		return diff{"session is nil"}
	}
	d.eq("ID", got.ID, want.ID)
	if !bytes.Equal(got.TokenHash, want.TokenHash) {
		d = append(d, fmt.Sprintf("TokenHash = %x, want %x", got.TokenHash, want.TokenHash))
	}
	d.eq("UserID", got.UserID, want.UserID)
	d.eq("AccountID", got.AccountID, want.AccountID)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("LastActiveAt", got.LastActiveAt, want.LastActiveAt)
	d.ptr("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.eq("RememberMe", got.RememberMe, want.RememberMe)
	d.ptr("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.eq("RevokedBy", got.RevokedBy, want.RevokedBy)
	d.eq("RevokeReason", got.RevokeReason, want.RevokeReason)
	d.eq("IP", got.IP, want.IP)
	d.eq("UserAgent", got.UserAgent, want.UserAgent)
	d.eq("Device", got.Device, want.Device)
	d.eq("Location", got.Location, want.Location)
	d.eq("Activity", got.Activity, want.Activity)
	d.eq("NewDevice", got.NewDevice, want.NewDevice)
	d.eq("Risk.Level", got.Risk.Level, want.Risk.Level)
	// nil and empty Reasons are the same list.
	if !slices.Equal(got.Risk.Reasons, want.Risk.Reasons) {
		d = append(d, fmt.Sprintf("Risk.Reasons = %q, want %q", got.Risk.Reasons, want.Risk.Reasons))
	}
	return d
}

func diffEvent(got, want *doorman.AuditEvent) diff {
	var d diff
	if got == nil {
		return diff{"event is nil"}
	}
	d.eq("ID", got.ID, want.ID)
	d.eq("AccountID", got.AccountID, want.AccountID)
	d.time("At", got.At, want.At)
	d.eq("ActorID", got.ActorID, want.ActorID)
	d.eq("Actor", got.Actor, want.Actor)
	d.eq("Action", got.Action, want.Action)
	d.eq("Target", got.Target, want.Target)
	d.eq("Reason", got.Reason, want.Reason)
	d.eq("IP", got.IP, want.IP)
	d.eq("UserAgent", got.UserAgent, want.UserAgent)
	d.eq("Count", got.Count, want.Count)
	d.eq("Details", got.Details, want.Details)
	return d
}

// ids returns the ids of a list of sessions, users or events, in order.
func sessionIDs(list []*doorman.Session) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

func userIDs(list []*doorman.User) []string {
	out := make([]string, len(list))
	for i, u := range list {
		out[i] = u.ID
	}
	return out
}

func eventIDs(list []*doorman.AuditEvent) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.ID
	}
	return out
}

// sameSet reports whether a and b hold the same strings in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}
