package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
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
