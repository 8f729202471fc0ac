package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
)

// envRunMain makes the test binary run as the doorman command: the race test
// re-executes itself to revoke from another process, as an operator's
// `doorman sessions revoke` beside a running server does.
const envRunMain = "DOORMAN_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main() // exits with 2 on failure
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The race's size. Every round signs in (or creates a key), lets the
// validators hammer the nodes until node B has admitted the credential,
// revokes it, and lets every validator send racePostAck more validations
// after the acknowledgement.
const (
	raceRounds      = 150
	raceShortRounds = 20
	raceValidatorsB = 16 // on node B, which did not revoke
	raceValidatorsA = 2  // on node A, which did: "any node" includes it
	racePostAck     = 4
	// raceGuard bounds waits for an event (node B's first admit, a
	// revocation's answer) so that a hung node fails the test instead of
	// hanging it; it never decides an outcome.
	raceGuard = 30 * time.Second
)

// raceHasher is cheap: passwords are not what this test is about, and a
// sign-in per round at the production cost would dominate its run time.
var raceHasher = argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

const (
	raceEmail    = "ann@acme.test"
	racePassword = "s3cret-password"
)

// TestRevocationIsExact proves Doorman's promise about revocation: once a
// revocation was acknowledged (its HTTP answer arrived, or the CLI process
// exited), no node admits the token or key again. Two nodes are two servers
// built as `doorman serve` builds one, each on its own store handle of one
// database, as two processes would be. Validators race the revocation on
// node B (and a few on node A); every validation sent after the
// acknowledgement must be refused.
func TestRevocationIsExact(t *testing.T) {
	rounds := raceRounds
	if testing.Short() {
		rounds = raceShortRounds
	}
	if raceDetectorOn() {
		// The detector slows every request, and the re-executed command
		// many times more; a run with -race is there for data races, the
		// plain run is the one that counts admits at full size.
		rounds /= 3
	}
	stores := []struct {
		name      string
		db        func(t *testing.T) string // the --db of a fresh database
		cliRounds int
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "doorman.db") }, rounds},
		// Fewer: each round's process connects to PostgreSQL and checks
		// its migrations, which costs more than the rest of the round.
		{"postgres", func(t *testing.T) string { return testdb.PostgresDSN(t) }, rounds / 3},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Run("session", func(t *testing.T) {
				c := newRaceCluster(t, st.db(t))
				raceVariant(t, c, rounds, c.sessionRevokedOnA)
			})
			t.Run("api-key", func(t *testing.T) {
				c := newRaceCluster(t, st.db(t))
				raceVariant(t, c, rounds, c.apiKeyRevokedOnA)
			})
			t.Run("cli", func(t *testing.T) {
				c := newRaceCluster(t, st.db(t))
				raceVariant(t, c, st.cliRounds, c.sessionRevokedByCLI)
			})
		})
	}
}

// raceDetectorOn reports whether the test binary was built with -race.
func raceDetectorOn() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// raceNode is one Doorman server on a real listener.
type raceNode struct {
	base string
	svc  *app.Service
}

// raceCluster is two nodes on one database and an administrator signed in
// on node A, who stays signed in throughout.
type raceCluster struct {
	db     string
	a, b   *raceNode
	client *http.Client // keeps connections alive across rounds
	admin  string       // the administrator's session token
}

// newRaceCluster migrates db, starts two nodes on it with a store handle
// each, and creates the administrator whose sessions and keys the rounds
// revoke.
func newRaceCluster(t *testing.T, db string) *raceCluster {
	t.Helper()
	c := &raceCluster{db: db, client: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 2 * (raceValidatorsA + raceValidatorsB),
	}}}
	t.Cleanup(c.client.CloseIdleConnections)
	// Opened one after the other: the first applies the migrations.
	c.a = startRaceNode(t, db)
	c.b = startRaceNode(t, db)
	if _, err := c.a.svc.CreateUser(t.Context(), "Acme", raceEmail, "Ann", doorman.RoleAdmin, racePassword); err != nil {
		t.Fatalf("create user: %v", err)
	}
	c.admin, _ = c.signIn(t)
	return c
}

// startRaceNode opens a store handle of its own on db and serves it as
// `doorman serve` does. The background jobs are left out: their writes
// would only empty caches at random moments, hiding stale entries.
func startRaceNode(t *testing.T, db string) *raceNode {
	t.Helper()
	store, err := openStore(t.Context(), db)
	if err != nil {
		t.Fatalf("open %s: %v", describeDB(db), err)
	}
	t.Cleanup(func() { store.Close() })
	log := slog.New(slog.DiscardHandler)
	svc := app.NewService(store, raceHasher)
	svc.Log = log
	// One person signs in once a round, far above the sign-in limits.
	svc.SignInLimits = app.SignInLimits{PerEmail: 1e9, EmailBurst: 1 << 30, PerIP: 1e9, IPBurst: 1 << 30}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	srv := newHTTPServer(svc, doormanhttp.Config{BaseURL: base, Logger: log, ActiveSessions: svc.CountLiveSessions})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() }) // before the store closes: cleanups run last first
	return &raceNode{base: base.String(), svc: svc}
}

// call sends one API request with a Bearer credential and decodes a JSON
// answer into out, failing the test unless the status is want.
func (c *raceCluster) call(t *testing.T, method, u, cred string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), raceGuard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, u, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, u, err, b)
		}
	}
}

// signIn signs the administrator in on node A and returns the new
// session's token and id.
func (c *raceCluster) signIn(t *testing.T) (token, id string) {
	t.Helper()
	var v struct {
		Token   string
		Session struct{ ID string }
	}
	c.call(t, "POST", c.a.base+"/api/v1/login", "", map[string]string{"email": raceEmail, "password": racePassword}, &v, http.StatusOK)
	if v.Token == "" || v.Session.ID == "" {
		t.Fatalf("login answered no token or session id: %+v", v)
	}
	return v.Token, v.Session.ID
}

// A racer prepares round i: it returns the credential the validators
// present, the paths they validate it on, and a revoke that returns once
// the revocation is acknowledged, with that instant.
type racer func(t *testing.T, i int) (cred string, paths []string, revoke func(ctx context.Context) (time.Time, error))

// sessionRevokedOnA: a new session, validated by whoami and the
// forward-auth check, and signed out through node A's API; by itself
// (logout) in even rounds, from the administrator's other session (DELETE
// /api/v1/sessions/{id}) in odd ones.
func (c *raceCluster) sessionRevokedOnA(t *testing.T, i int) (string, []string, func(context.Context) (time.Time, error)) {
	token, id := c.signIn(t)
	method, path, cred := "POST", "/api/v1/logout", token
	if i%2 == 1 {
		method, path, cred = "DELETE", "/api/v1/sessions/"+id, c.admin
	}
	return token, []string{"/api/v1/whoami", "/auth/verify"}, c.revokeOnA(method, path, cred)
}

// apiKeyRevokedOnA: a new API key, validated by whoami and revoked through
// node A's API.
func (c *raceCluster) apiKeyRevokedOnA(t *testing.T, i int) (string, []string, func(context.Context) (time.Time, error)) {
	var v struct {
		APIKey struct{ ID string } `json:"api_key"`
		Secret string
	}
	c.call(t, "POST", c.a.base+"/api/v1/api-keys", c.admin, map[string]string{"name": fmt.Sprintf("race %d", i)}, &v, http.StatusCreated)
	if v.Secret == "" || v.APIKey.ID == "" {
		t.Fatalf("create API key answered no secret or id: %+v", v)
	}
	return v.Secret, []string{"/api/v1/whoami"}, c.revokeOnA("DELETE", "/api/v1/api-keys/"+v.APIKey.ID, c.admin)
}

// revokeOnA returns a revoke that sends one request to node A and takes the
// arrival of its 204 as the acknowledgement.
func (c *raceCluster) revokeOnA(method, path, cred string) func(context.Context) (time.Time, error) {
	return func(ctx context.Context) (time.Time, error) {
		req, err := http.NewRequestWithContext(ctx, method, c.a.base+path, nil)
		if err != nil {
			return time.Time{}, err
		}
		req.Header.Set("Authorization", "Bearer "+cred)
		resp, err := c.client.Do(req)
		if err != nil {
			return time.Time{}, err
		}
		ack := time.Now() // the answer's headers arrived: a 204 is complete
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return time.Time{}, fmt.Errorf("%s %s: %d %s, want 204", method, path, resp.StatusCode, b)
		}
		return ack, nil
	}
}

// sessionRevokedByCLI: a new session, validated as above and revoked by
// `doorman sessions revoke` in another process; its exit is the
// acknowledgement.
func (c *raceCluster) sessionRevokedByCLI(t *testing.T, i int) (string, []string, func(context.Context) (time.Time, error)) {
	token, id := c.signIn(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return token, []string{"/api/v1/whoami", "/auth/verify"}, func(ctx context.Context) (time.Time, error) {
		cmd := exec.CommandContext(ctx, exe, "sessions", "revoke", id, "--reason", "Race test", "--db", c.db)
		cmd.Env = append(os.Environ(), envRunMain+"=1")
		out, err := cmd.CombinedOutput()
		ack := time.Now() // the process has exited
		if err != nil {
			return time.Time{}, fmt.Errorf("doorman sessions revoke: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "Signed out "+id) {
			return time.Time{}, fmt.Errorf("doorman sessions revoke said:\n%s", out)
		}
		return ack, nil
	}
}

// raceTally sums the outcomes of validations.
type raceTally struct {
	rounds      int
	validations int
	before      int           // admits sent before the acknowledgement
	after       int           // admits sent after it: each one breaks the promise
	afterOnB    int           // those of after that node B answered
	roundsAfter int           // rounds with at least one admit after the acknowledgement
	latest      time.Duration // the latest admit after an acknowledgement, from it
	other       int           // answers that are neither 200 nor 401, or no answer
	otherSample string
}

// raceVariant runs rounds of r and fails if any validation sent after an
// acknowledged revocation was admitted.
func raceVariant(t *testing.T, c *raceCluster, rounds int, r racer) {
	var total raceTally
	start := time.Now()
	for i := range rounds {
		cred, paths, revoke := r(t, i)
		round := c.raceRound(t, cred, paths, revoke)
		total.rounds++
		total.validations += round.validations
		total.before += round.before
		total.after += round.after
		total.afterOnB += round.afterOnB
		if round.after > 0 {
			total.roundsAfter++
			total.latest = max(total.latest, round.latest)
		}
		total.other += round.other
		if total.otherSample == "" {
			total.otherSample = round.otherSample
		}
	}
	t.Logf("%d rounds in %v: %d validations, %d admits before the acknowledgement, %d admits after it "+
		"(%d on node B, %d on node A; in %d rounds; the latest sent %v after the acknowledgement)",
		total.rounds, time.Since(start).Round(time.Millisecond), total.validations, total.before,
		total.after, total.afterOnB, total.after-total.afterOnB, total.roundsAfter, total.latest)
	if total.before == 0 {
		t.Error("no validation was admitted before a revocation: the validators did not race it")
	}
	if total.after > 0 {
		t.Errorf("%d validations sent after an acknowledged revocation were admitted, in %d of %d rounds; want none",
			total.after, total.roundsAfter, total.rounds)
	}
	if total.other > 0 {
		t.Errorf("%d validations were answered neither 200 nor 401, for example: %s", total.other, total.otherSample)
	}
}

// raceSample is one validation: when it was sent and what came back.
type raceSample struct {
	sent   time.Time
	status int // 0: no answer
	err    error
}

// raceRound starts the validators, revokes once node B has admitted cred,
// and counts what the validators saw against the acknowledgement instant.
func (c *raceCluster) raceRound(t *testing.T, cred string, paths []string, revoke func(context.Context) (time.Time, error)) raceTally {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var acked atomic.Bool // only tells validators when to start counting down
	admittedB := make(chan struct{})
	var once sync.Once

	type validator struct {
		node    *raceNode
		path    string
		samples []raceSample
	}
	var vs []*validator
	for i := range raceValidatorsB + raceValidatorsA {
		v := &validator{node: c.b, path: paths[i%len(paths)]}
		if i >= raceValidatorsB {
			v.node = c.a
		}
		vs = append(vs, v)
	}
	var wg sync.WaitGroup
	for _, v := range vs {
		wg.Go(func() {
			for left := racePostAck; left > 0 && ctx.Err() == nil; {
				// Read before the send time is taken: a validation counts
				// down only if it surely left after the acknowledgement.
				late := acked.Load()
				s := raceSample{sent: time.Now()}
				req, err := http.NewRequestWithContext(ctx, "GET", v.node.base+v.path, nil)
				if err != nil {
					s.err = err
				} else {
					req.Header.Set("Authorization", "Bearer "+cred)
					var resp *http.Response
					if resp, s.err = c.client.Do(req); s.err == nil {
						io.Copy(io.Discard, resp.Body) // to keep the connection
						resp.Body.Close()
						s.status = resp.StatusCode
					}
				}
				if s.err != nil && ctx.Err() != nil {
					return // the round was called off
				}
				v.samples = append(v.samples, s)
				if s.status == http.StatusOK && v.node == c.b {
					once.Do(func() { close(admittedB) })
				}
				if late {
					left--
				}
			}
		})
	}

	// Revoke only once node B has admitted the credential, so that
	// whatever node B keeps about it is warm when the revocation lands.
	select {
	case <-admittedB:
	case <-time.After(raceGuard):
		cancel()
		wg.Wait()
		t.Fatalf("node B admitted no validation of a fresh credential within %v", raceGuard)
	}
	rctx, rcancel := context.WithTimeout(ctx, raceGuard)
	ack, err := revoke(rctx)
	rcancel()
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("revoke: %v", err)
	}
	acked.Store(true)
	wg.Wait()

	var tl raceTally
	for _, v := range vs {
		for _, s := range v.samples {
			tl.validations++
			switch {
			case s.status == http.StatusOK && s.sent.After(ack):
				tl.after++
				if v.node == c.b {
					tl.afterOnB++
				}
				tl.latest = max(tl.latest, s.sent.Sub(ack))
			case s.status == http.StatusOK:
				tl.before++
			case s.status != http.StatusUnauthorized:
				tl.other++
				if tl.otherSample == "" {
					tl.otherSample = fmt.Sprintf("GET %s on node %s: status %d, error %v", v.path, v.node.base, s.status, s.err)
				}
			}
		}
	}
	return tl
}
