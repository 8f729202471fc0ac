package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/client"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
)

// verifyAs checks a request with token as its Bearer credential and ua as
// its User-Agent.
func verifyAs(c *client.Client, token, ua string) (*client.Identity, error) {
	req := httptest.NewRequest("GET", "/reports", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", ua)
	return c.Verify(context.Background(), req)
}

// A valid session's answer answers the same question again, without asking
// Doorman, until the window Doorman gave it (counted from the check's
// sending) has passed; another question (another User-Agent here) asks.
// DisableReuse asks every time.
func TestReuseWithinTheWindow(t *testing.T) {
	e := startDoorman(t, doormanhttp.Config{})
	tp := tapDoorman(t, e)
	token, p := e.signIn(t, "192.0.2.1", "")
	clk := newTestClock()
	c := newClient(t, e.srv.URL, client.Options{Now: clk.Now})
	const firefox, chrome = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	check := func(what, ua string, batches int64) {
		t.Helper()
		id, err := verifyAs(c, token, ua)
		if err != nil || id.SessionID != p.Session.ID || id.UserID != p.User.ID || id.Email != "ana@acme.test" {
			t.Fatalf("%s: %+v, %v", what, id, err)
		}
		if n := tp.batches.Load(); n != batches {
			t.Fatalf("%s: Doorman saw %d batches, want %d", what, n, batches)
		}
	}
	check("first", firefox, 1)
	for i := range 5 {
		check(fmt.Sprintf("again (%d)", i), firefox, 1)
	}
	clk.Advance(doorman.ReuseWindow - time.Millisecond)
	check("at the end of the window", firefox, 1)
	check("another User-Agent", chrome, 2)
	clk.Advance(time.Millisecond)
	check("past the window", firefox, 3)
	check("within the new window", firefox, 3)

	off := newClient(t, e.srv.URL, client.Options{Now: clk.Now, DisableReuse: true})
	for i := range 3 {
		if _, err := verifyAs(off, token, firefox); err != nil {
			t.Fatal(err)
		}
		if n := tp.batches.Load(); n != 4+int64(i) {
			t.Fatalf("DisableReuse, check %d: Doorman saw %d batches, want %d", i, n, 4+i)
		}
	}
}

// The client takes the window from each answer: none without reuse_ms (a
// refusal, or a Doorman that gives none), never more than a second however
// long an answer says.
func TestReuseWindowFromTheAnswer(t *testing.T) {
	var batches atomic.Int64
	var answer atomic.Value
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		batches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer.Load().(string))
	}))
	defer stub.Close()
	const ok = `{"status":200,"headers":{"X-Doorman-User-Id":"usr_1","X-Doorman-User-Email":"a@b.test",` +
		`"X-Doorman-User-Role":"member","X-Doorman-Account-Id":"acc_1","X-Doorman-Session-Id":"sess_1","X-Doorman-Assertion":""}`
	clk := newTestClock()
	c := newClient(t, stub.URL, client.Options{Now: clk.Now})
	asks := func(what, result string, want bool) {
		t.Helper()
		answer.Store(`{"results":[` + result + `]}`)
		before := batches.Load()
		verifyAs(c, "tok", "ua")
		if asked := batches.Load() > before; asked != want {
			t.Errorf("%s: asked Doorman %v, want %v", what, asked, want)
		}
	}
	asks("no reuse_ms", ok+`}`, true)
	asks("after no reuse_ms", ok+`}`, true)
	asks("reuse_ms 0", ok+`,"reuse_ms":0}`, true)
	asks("after reuse_ms 0", ok+`,"reuse_ms":0}`, true)
	asks("a refusal with reuse_ms", `{"status":401,"error":{"reason":"signed_out"},"reuse_ms":50}`, true)
	asks("after a refusal", ok+`,"reuse_ms":3600000}`, true)
	asks("within a second", ok+`}`, false)
	clk.Advance(999 * time.Millisecond)
	asks("999 ms later", ok+`}`, false)
	clk.Advance(time.Millisecond)
	asks("a second later", ok+`}`, true)
}

// Across two nodes of one database: a session signed out on one node, once
// the sign-out is acknowledged, is refused by every check that the other
// node's middleware client begins afterwards, reused answers included
// (real clock: the stores' wait is what keeps reuse exact).
func TestReuseRevocationRaceTwoNodes(t *testing.T) {
	testdb.OneDatabase(t, func(t *testing.T, open func() doorman.Store) {
		a, b := newService(open()), newService(open())
		ctx := context.Background()
		if _, err := a.CreateUser(ctx, "Acme", "ana@acme.test", "Ana", doorman.RoleAdmin, password); err != nil {
			t.Fatal(err)
		}
		e := serveDoorman(t, a, nil, doormanhttp.Config{})
		generousLimits(e)
		c := newClient(t, e.srv.URL, client.Options{})
		checks := raceRevocations(t, c, 25, func(round int) (string, *doorman.Principal) {
			return e.signIn(t, fmt.Sprintf("192.0.2.%d", round+1), "")
		}, func(p *doorman.Principal) error { return b.SignOut(ctx, p, app.Meta{}) })
		t.Logf("%d checks", checks)

		// And a user disabled on the other node: the same promise.
		if _, err := a.CreateUser(ctx, "Acme", "bo@acme.test", "Bo", doorman.RoleMember, password); err != nil {
			t.Fatal(err)
		}
		boToken, _, err := a.SignIn(ctx, app.SignInRequest{Email: "bo@acme.test", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifyToken(ctx, c, boToken); err != nil {
			t.Fatal(err)
		}
		disabled := true
		if _, err := b.OperatorUpdateUser(ctx, "Acme", "bo@acme.test", app.UserChange{Disabled: &disabled, Reason: "left the team"}); err != nil {
			t.Fatal(err)
		}
		if _, err := verifyToken(ctx, c, boToken); !errors.Is(err, client.ErrUnauthorized) {
			t.Fatalf("a disabled user's check right after: %v, want refused", err)
		}
	})
}
