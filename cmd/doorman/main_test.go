package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/sqlite"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runCmd(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestUserCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	out, err := runCmd(t, "s3cret-password\n", "user", "create", "--db", db, "--account", "Acme", "--email", "Ann@Acme.test", "--role", "admin")
	if err != nil || !strings.Contains(out, "Created admin ann@acme.test") {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "s3cret-password\n", "user", "create", "--db", db, "--account", "Acme", "--email", "ann@acme.test"); err == nil ||
		!strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a duplicate email: %v, want 'already exists'", err)
	}
	if _, err := runCmd(t, "short\n", "user", "create", "--db", db, "--account", "Acme", "--email", "bob@acme.test"); err == nil ||
		!strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("a short password: %v", err)
	}
	if _, err := runCmd(t, "s3cret-password\n", "user", "create", "--db", db, "--account", "Acme", "--email", "bob@acme.test", "--role", "owner"); err == nil {
		t.Fatal("an unknown role was accepted")
	}
	out, err = runCmd(t, "", "sessions", "list", "--db", db, "--email", "ann@acme.test")
	if err != nil || !strings.HasPrefix(out, "SESSION") {
		t.Fatalf("sessions list: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "", "sessions", "list", "--db", db, "--email", "nobody@acme.test"); err == nil {
		t.Fatal("listing an unknown email succeeded")
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	t.Setenv("DOORMAN_DB", db)
	if out, err := runCmd(t, "", "migrate"); err != nil || !strings.Contains(out, db) {
		t.Fatalf("migrate with DOORMAN_DB: %v\n%s", err, out)
	}
	t.Setenv("DOORMAN_LOG_FORMAT", "xml")
	if _, err := runCmd(t, "", "serve", "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "log-format") {
		t.Fatalf("a bad DOORMAN_LOG_FORMAT: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "0": 0, "12h": 12 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "3x", "1.5d", "-5m"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
}

// TestServeDemo runs the server as the README does, signs in as the demo
// admin, sees the guide's sessions, has an operator revoke one from the
// command line while the server runs, and stops it gracefully.
func TestServeDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--db", db, "--addr", "127.0.0.1:0", "--demo-password", "demo-password-1",
			"--log-level", "warn"}, strings.NewReader(""), out, io.Discard)
	}()
	addr := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for i := 0; base == ""; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, out)
		default:
		}
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		if i > 600 {
			t.Fatalf("serve did not start:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond) // waiting for a process to start, not for time to pass
	}
	if !strings.Contains(out.String(), "Demo team seeded") {
		t.Fatalf("no seeding message:\n%s", out)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Post(base+"/api/v1/login", "application/json",
		strings.NewReader(`{"email":"admin@company.com","password":"demo-password-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	type session struct {
		ID, Label, IP string
		Current       bool
		StatusText    string `json:"status_text"`
		Location      struct{ Label string }
	}
	list := func() []session {
		resp, err := client.Get(base + "/api/v1/sessions")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Sessions []session }
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("list: %d %v", resp.StatusCode, err)
		}
		return v.Sessions
	}
	got := list()
	want := []struct{ label, place, ip, when string }{
		{"Safari on iPhone", "Madrid, Spain", "83.45.123.78", "2 hours ago"},
		{"Chrome on Windows", "London, United Kingdom", "203.0.113.45", "3 days ago"},
		{"Firefox on Ubuntu", "Berlin, Germany", "91.64.12.7", "4 days ago"},
	}
	if len(got) != 4 || !got[0].Current {
		t.Fatalf("sessions = %+v, want the current one and the guide's three", got)
	}
	for i, w := range want {
		g := got[i+1]
		if g.Label != w.label || g.Location.Label != w.place || g.IP != w.ip || g.StatusText != w.when {
			t.Errorf("session %d = %+v, want %+v", i+1, g, w)
		}
	}

	// The operator signs out the iPhone session from the command line.
	if out, err := runCmd(t, "", "sessions", "revoke", got[1].ID, "--db", db, "--reason", "Lost phone"); err != nil {
		t.Fatalf("sessions revoke: %v\n%s", err, out)
	}
	if after := list(); len(after) != 3 {
		t.Fatalf("after the CLI revoke the server lists %d sessions, want 3", len(after))
	}
	out2, err := runCmd(t, "", "sessions", "list", "--db", db, "--email", "admin@company.com")
	if err != nil || strings.Contains(out2, got[1].ID) || !strings.Contains(out2, got[2].ID) {
		t.Fatalf("sessions list after revoke: %v\n%s", err, out2)
	}

	cancel() // SIGTERM does the same through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	// A second start finds the team and seeds nothing.
	ctx2, cancel2 := context.WithCancel(context.Background())
	out3 := &syncBuffer{}
	go func() {
		done <- run(ctx2, []string{"serve", "--demo", "--db", db, "--addr", "127.0.0.1:0", "--log-level", "warn"}, strings.NewReader(""), out3, io.Discard)
	}()
	for i := 0; !strings.Contains(out3.String(), "listening on"); i++ {
		if i > 600 {
			t.Fatalf("second start:\n%s", out3)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel2()
	<-done
	if !strings.Contains(out3.String(), "already present") {
		t.Fatalf("second start seeded again:\n%s", out3)
	}
}

// signIn starts a session of email on the database file, as a server
// would, and returns its token.
func signIn(t *testing.T, db, email string) string {
	t.Helper()
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tok, _, err := app.NewService(store, argon2id.New()).SignIn(context.Background(),
		app.SignInRequest{Email: email, Password: "s3cret-password", Meta: app.Meta{IP: "83.45.123.78", UserAgent: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// authenticate checks a token on the database file as a server would.
func authenticate(t *testing.T, db, tok string) error {
	t.Helper()
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, err = app.NewService(store, argon2id.New()).Authenticate(context.Background(), tok, app.Meta{})
	return err
}

func TestSessionsRevokeByEmail(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, acct := range []string{"Acme", "Globex"} {
		if out, err := runCmd(t, "s3cret-password\n", "user", "create", "--db", db, "--account", acct, "--email", "ann@acme.test"); err != nil {
			t.Fatalf("user create: %v\n%s", err, out)
		}
	}
	if out, err := runCmd(t, "other-password-1\n", "user", "create", "--db", db, "--account", "Acme", "--email", "bob@acme.test"); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	// The password is the same in both accounts: sign-in takes the first by
	// id, Acme's, created first.
	ann1, ann2 := signIn(t, db, "ann@acme.test"), signIn(t, db, "ann@acme.test")

	for _, args := range [][]string{
		{"sessions", "revoke", "--db", db, "--email", "ann@acme.test"},
		{"sessions", "revoke", "--db", db, "--email", "ann@acme.test", "--reason", "  "},
		{"sessions", "revoke", "sess_x", "--db", db, "--email", "ann@acme.test", "--reason", "x"},
	} {
		if out, err := runCmd(t, "", args...); err == nil {
			t.Errorf("%v succeeded:\n%s", args, out)
		}
	}
	if err := authenticate(t, db, ann1); err != nil {
		t.Fatalf("a refused revoke changed a session: %v", err)
	}
	if _, err := runCmd(t, "", "sessions", "revoke", "--db", db, "--email", "nobody@acme.test", "--reason", "x"); err == nil ||
		!strings.Contains(err.Error(), "no user has email") {
		t.Errorf("revoke of an unknown email: %v", err)
	}

	out, err := runCmd(t, "", "sessions", "revoke", "--db", db, "--email", "Ann@Acme.test", "--reason", "Contract ended")
	if err != nil {
		t.Fatalf("sessions revoke --email: %v\n%s", err, out)
	}
	if strings.Count(out, "Signed out ann@acme.test") != 2 || !strings.Contains(out, "2 active sessions") ||
		!strings.Contains(out, `"Globex": 0 active sessions`) {
		t.Errorf("output:\n%s\nwant one line per account with its count", out)
	}
	for _, tok := range []string{ann1, ann2} {
		var e *doorman.Error
		if err := authenticate(t, db, tok); !errors.As(err, &e) || e.Reason != doorman.ReasonRevokedByAdmin {
			t.Errorf("after the revoke: %v, want %s", err, doorman.ReasonRevokedByAdmin)
		}
	}

	// The export has one user_sessions_revoked event per account, by system.
	file := filepath.Join(t.TempDir(), "audit.csv")
	if out, err := runCmd(t, "", "audit", "export", "--db", db, "--format", "csv", "--action", "user_sessions_revoked", "--out", file); err != nil ||
		!strings.Contains(out, "Wrote 2 audit events") {
		t.Fatalf("audit export: %v\n%s", err, out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file: %v, mode %v; want 0600", err, fi.Mode())
	}
	b, _ := os.ReadFile(file)
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(records) != 3 {
		t.Fatalf("CSV: %v\n%s", err, b)
	}
	if strings.Join(records[0], ",") != "id,at,actor,action,target,reason,ip,user_agent,count,details" {
		t.Errorf("header = %v", records[0])
	}
	for _, r := range records[1:] {
		if r[2] != doorman.ActorSystem || r[3] != doorman.ActionUserSessionsRevoked || r[4] != "ann@acme.test" || r[5] != "Contract ended" {
			t.Errorf("row = %v, want the system's forced sign-out of ann with the reason", r)
		}
		if at, err := time.Parse(time.RFC3339, r[1]); err != nil || at.Location() != time.UTC {
			t.Errorf("at = %q, want RFC 3339 in UTC", r[1])
		}
	}
	if got := records[1][8] + "+" + records[2][8]; got != "2+0" && got != "0+2" {
		t.Errorf("counts = %s, want 2 and 0", got)
	}
}

func TestAuditExport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, acct := range []string{"Acme", "Globex"} {
		email := "ann@" + strings.ToLower(acct) + ".test"
		if out, err := runCmd(t, "s3cret-password\n", "user", "create", "--db", db, "--account", acct, "--email", email); err != nil {
			t.Fatalf("user create: %v\n%s", err, out)
		}
		signIn(t, db, email)
	}
	// Every account's events: two users created, two sign-ins; newest first.
	out, err := runCmd(t, "", "audit", "export", "--db", db, "--format", "jsonl")
	if err != nil {
		t.Fatalf("audit export: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("JSON Lines export = %d lines, want 4:\n%s", len(lines), out)
	}
	var last time.Time
	for i, l := range lines {
		var ev struct {
			ID, At, Actor, Action, Target string
			Count                         int
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.ID == "" || ev.Action == "" {
			t.Fatalf("line %d = %q: %v", i, l, err)
		}
		at, err := time.Parse(time.RFC3339, ev.At)
		if err != nil || i > 0 && at.After(last) {
			t.Errorf("line %d at %q: not RFC 3339 or not newest first", i, ev.At)
		}
		last = at
	}
	// One account, one action.
	out, err = runCmd(t, "", "audit", "export", "--db", db, "--account", "Globex", "--action", "sign_in", "--format", "jsonl")
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"actor":"ann@globex.test"`) {
		t.Errorf("export of Globex's sign-ins: %v\n%s", err, out)
	}
	// --since in the future: the header alone.
	out, err = runCmd(t, "", "audit", "export", "--db", db, "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if err != nil || out != "id,at,actor,action,target,reason,ip,user_agent,count,details\n" {
		t.Errorf("export since a future time: %v\n%q", err, out)
	}
	for _, args := range [][]string{
		{"--format", "xml"}, {"--since", "yesterday"}, {"--account", "Initech"}, {"extra"},
	} {
		if out, err := runCmd(t, "", append([]string{"audit", "export", "--db", db}, args...)...); err == nil {
			t.Errorf("audit export %v succeeded:\n%s", args, out)
		}
	}
	// Exporting is a read: it writes no event.
	out, _ = runCmd(t, "", "audit", "export", "--db", db, "--format", "jsonl")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 4 {
		t.Errorf("after exports the log has %d events, want still 4", n)
	}
}

func TestAuditRetentionFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	if _, err := runCmd(t, "", "serve", "--db", db, "--addr", "127.0.0.1:0", "--audit-retention", "forever"); err == nil ||
		!strings.Contains(err.Error(), "audit-retention") {
		t.Errorf("--audit-retention forever: %v, want a flag error", err)
	}
}

// TestUserReset2FA: an operator turns two-factor authentication off for a
// user who lost their authenticator, with a reason that is audited.
func TestUserReset2FA(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "d.db")
	if out, err := runCmd(t, "s3cret-password\n", "user", "create", "--db", db, "--account", "Acme", "--email", "ann@acme.test"); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acct, err := store.FindAccountByName(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	users, _, err := store.FindUsers(ctx, doorman.UserFilter{AccountID: acct.ID, Email: "ann@acme.test"})
	if err != nil || len(users) != 1 {
		t.Fatalf("FindUsers: %v %v", users, err)
	}
	u := users[0]
	// Off already: nothing to reset.
	if _, err := runCmd(t, "", "user", "reset-2fa", "--db", db, "--account", "Acme", "--email", "ann@acme.test", "--reason", "lost phone"); err == nil ||
		!strings.Contains(err.Error(), "does not have two-factor authentication on") {
		t.Errorf("reset with 2FA off: %v", err)
	}
	now := time.Now()
	if err := store.SetPendingTwoFactor(ctx, acct.ID, u.ID, "JBSWY3DPEHPK3PXP"); err != nil {
		t.Fatal(err)
	}
	ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, now), AccountID: acct.ID, At: now,
		ActorID: u.ID, Actor: u.Email, Action: doorman.ActionTwoFactorEnabled, Target: u.Email}
	if err := store.EnableTwoFactor(ctx, acct.ID, u.ID, "JBSWY3DPEHPK3PXP", 1, now, nil, ev); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"user", "reset-2fa", "--db", db, "--account", "Acme", "--email", "ann@acme.test"},
		{"user", "reset-2fa", "--db", db, "--account", "Acme", "--email", "ann@acme.test", "--reason", " "},
		{"user", "reset-2fa", "--db", db, "--email", "ann@acme.test", "--reason", "lost phone"},
		{"user", "reset-2fa", "--db", db, "--account", "Globex", "--email", "ann@acme.test", "--reason", "lost phone"},
		{"user", "reset-2fa", "--db", db, "--account", "Acme", "--email", "bob@acme.test", "--reason", "lost phone"},
	} {
		if out, err := runCmd(t, "", args...); err == nil {
			t.Errorf("%v succeeded:\n%s", args, out)
		}
	}
	if tf, err := store.FindTwoFactor(ctx, acct.ID, u.ID); err != nil || !tf.Enabled() {
		t.Fatalf("a refused reset changed 2FA: %+v %v", tf, err)
	}

	out, err := runCmd(t, "", "user", "reset-2fa", "--db", db, "--account", "Acme", "--email", "Ann@Acme.test", "--reason", "Lost phone and codes, identity checked")
	if err != nil || !strings.Contains(out, "Two-factor authentication is off for ann@acme.test") {
		t.Fatalf("reset-2fa: %v\n%s", err, out)
	}
	if tf, err := store.FindTwoFactor(ctx, acct.ID, u.ID); err != nil || tf.Enabled() {
		t.Errorf("after the reset: %+v %v, want off", tf, err)
	}
	evs, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionTwoFactorDisabled})
	if err != nil || len(evs) != 1 || evs[0].Actor != doorman.ActorSystem || evs[0].Reason != "Lost phone and codes, identity checked" {
		t.Errorf("audit: %+v %v, want one two_factor_disabled by system with the reason", evs, err)
	}
}
