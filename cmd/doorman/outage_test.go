package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman/internal/faultproxy"
	"github.com/doorman/doorman/internal/testdb"
)

// outageEnv is `doorman serve` on PostgreSQL reached through a fault proxy,
// with a short store timeout.
type outageEnv struct {
	t      *testing.T
	base   string
	proxy  *faultproxy.Proxy
	logs   *syncBuffer
	client *http.Client
}

// storeTimeout is the --store-timeout of the outage tests.
const storeTimeout = 300 * time.Millisecond

// slack bounds how long past the store timeout an answer may come: a
// failure guard for a server that waits on TCP, not a measure.
const slack = 5 * time.Second

func newOutageEnv(t *testing.T) *outageEnv {
	t.Helper()
	dsn := testdb.PostgresDSN(t) // fails rather than skips when CI is set
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()

	if out, err := runCmd(t, password+"\n", "user", "create", "--db", dsn, "--account", "Acme", "--email", "ana@acme.test"); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", u.String(), "--addr", "127.0.0.1:0",
			"--store-timeout", storeTimeout.String(), "--log-level", "warn"}, strings.NewReader(""), out, logs)
	}()
	t.Cleanup(func() {
		proxy.Resume() // so that the final flush can reach the database
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v\n%s", err, logs)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	addr := regexp.MustCompile(`listening on (http://\S+)`)
	e := &outageEnv{t: t, proxy: proxy, logs: logs, client: &http.Client{Timeout: 30 * time.Second}}
	for i := 0; e.base == ""; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s%s", err, out, logs)
		default:
		}
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			e.base = m[1]
			break
		}
		if i > 600 {
			t.Fatalf("serve did not start:\n%s%s", out, logs)
		}
		time.Sleep(50 * time.Millisecond) // waiting for a process to start, not for time to pass
	}
	return e
}

const password = "correct horse battery"

// login signs ana in and returns the session token.
func (e *outageEnv) login() string {
	e.t.Helper()
	resp, err := e.client.Post(e.base+"/api/v1/login", "application/json",
		strings.NewReader(`{"email":"ana@acme.test","password":"`+password+`"}`))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK || v.Token == "" {
		e.t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	return v.Token
}

// answer is a status, the error code of the body (if any) and how long the
// request took.
type answer struct {
	status int
	code   string
	took   time.Duration
}

func (e *outageEnv) do(method, path, token string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct{ Error struct{ Code string } }
	json.Unmarshal(body, &v)
	return answer{status: resp.StatusCode, code: v.Error.Code, took: time.Since(start)}
}

// wantUnavailable checks a 503 unavailable answered within the store
// timeout and slack.
func (e *outageEnv) wantUnavailable(what string, a answer) {
	e.t.Helper()
	if a.status != http.StatusServiceUnavailable || a.code != "unavailable" {
		e.t.Errorf("%s: %d %q, want 503 unavailable", what, a.status, a.code)
	}
	if a.took > storeTimeout+slack {
		e.t.Errorf("%s answered after %s, want within the %s store timeout (and slack)", what, a.took, storeTimeout)
	}
}

// firstUndecided asks whoami with token until its answer is not decided,
// and returns that answer. A node-local cache of principals may still
// answer, for its lease (100 ms after its listener's last ping came back),
// what the database last said (decided: 200 for a valid token, 401 for a
// revoked one); any other answer ends the wait. The 5 s bound only keeps a
// broken lease from hanging the test.
func (e *outageEnv) firstUndecided(token string, decided int) answer {
	e.t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		a := e.do("GET", "/api/v1/whoami", token)
		if a.status != decided {
			return a
		}
	}
	e.t.Fatalf("whoami still answers %d five seconds after the database froze", decided)
	return answer{}
}

// untilOK asks whoami until it is 200, answering 503 meanwhile (never 401),
// for at most 50 requests: the pool reconnects on the first few.
func (e *outageEnv) untilOK(what, token string) {
	e.t.Helper()
	for range 50 {
		a := e.do("GET", "/api/v1/whoami", token)
		switch a.status {
		case http.StatusOK:
			return
		case http.StatusServiceUnavailable:
			continue
		default:
			e.t.Fatalf("%s: whoami %d %q, want 200 or 503", what, a.status, a.code)
		}
	}
	e.t.Fatalf("%s: whoami never recovered", what)
}

func TestStoreOutagePostgres(t *testing.T) {
	e := newOutageEnv(t)
	tok := e.login()
	revoked := e.login()
	if a := e.do("POST", "/api/v1/logout", revoked); a.status != http.StatusOK && a.status != http.StatusNoContent {
		t.Fatalf("logout: %d %q", a.status, a.code)
	}
	if a := e.do("GET", "/api/v1/whoami", tok); a.status != http.StatusOK {
		t.Fatalf("whoami: %d %q", a.status, a.code)
	}
	if a := e.do("GET", "/api/v1/whoami", revoked); a.status != http.StatusUnauthorized {
		t.Fatalf("whoami with a revoked token: %d %q", a.status, a.code)
	}

	// Frozen: nothing comes back from PostgreSQL, and nothing is closed.
	e.proxy.Freeze()
	e.wantUnavailable("whoami, frozen", e.firstUndecided(tok, http.StatusOK))
	e.wantUnavailable("whoami with a revoked token, frozen", e.firstUndecided(revoked, http.StatusUnauthorized))
	e.wantUnavailable("forward auth, frozen", e.do("GET", "/auth/verify", tok))
	e.wantUnavailable("readyz, frozen", e.do("GET", "/readyz", ""))
	e.wantUnavailable("sessions, frozen", e.do("GET", "/api/v1/sessions", tok))

	// Two hundred requests of the outage write a few lines, not one each.
	before := len(e.logs.String())
	var wg sync.WaitGroup
	answers := make(chan answer, 200)
	for range 50 {
		wg.Go(func() {
			for range 4 {
				answers <- e.do("GET", "/api/v1/whoami", tok)
			}
		})
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		e.wantUnavailable("whoami among 200, frozen", a)
	}
	if lines := strings.Split(strings.TrimSpace(e.logs.String()[before:]), "\n"); len(lines) > 3 {
		t.Errorf("200 requests of an outage wrote %d lines, want at most 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(e.logs.String(), `msg="store unavailable"`) {
		t.Errorf("the outage was not logged:\n%s", e.logs)
	}

	e.proxy.Resume()
	e.untilOK("after resume", tok)
	if a := e.do("GET", "/readyz", ""); a.status != http.StatusOK {
		t.Errorf("readyz after resume: %d %q", a.status, a.code)
	}

	// Cut: every connection reset. Each answer is 503, or 200 on a new
	// connection; a revoked token is never admitted.
	e.proxy.Cut()
	if a := e.do("GET", "/api/v1/whoami", tok); a.status != http.StatusOK {
		e.wantUnavailable("whoami after a cut", a)
	}
	e.proxy.Cut()
	if a := e.do("GET", "/api/v1/whoami", revoked); a.status != http.StatusUnauthorized {
		e.wantUnavailable("whoami with a revoked token after a cut", a)
	}
	e.untilOK("after a cut", tok)
	if a := e.do("GET", "/api/v1/whoami", revoked); a.status != http.StatusUnauthorized {
		t.Errorf("revoked token after recovery: %d %q, want 401", a.status, a.code)
	}

	// Every failure is counted, logged or not.
	resp, err := e.client.Get(e.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^doorman_store_failures_total (\d+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no doorman_store_failures_total in /metrics:\n%s", body)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 200 {
		t.Errorf("doorman_store_failures_total = %d, want at least the 200 failed requests", n)
	}
}

func TestStoreTimeoutFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, args := range [][]string{
		{"--store-timeout", "0s"},
		{"--store-timeout", "-1s"},
		{"--store-timeout", "soon"},
	} {
		_, err := runCmd(t, "", append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "store-timeout") {
			t.Errorf("serve %v: %v, want an error about --store-timeout", args, err)
		}
	}
	t.Setenv("DOORMAN_STORE_TIMEOUT", "0s")
	if _, err := runCmd(t, "", "serve", "--db", db, "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "store-timeout") {
		t.Errorf("DOORMAN_STORE_TIMEOUT=0s: %v, want an error about --store-timeout", err)
	}
}
