package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/client"
	doormanhttp "github.com/doorman/doorman/http"
)

// Checks that arrive while an exchange is in flight share the next one, and
// are never answered by the one in flight: a session revoked after that
// exchange was sent and before they arrived is refused to them.
func TestCoalescingNeverAnswersWithAnEarlierExchange(t *testing.T) {
	var revoked atomic.Bool
	var exchanges atomic.Int64
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	doormanStub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := exchanges.Add(1)
		// The answer is decided when the exchange reaches the server, as
		// Doorman decides it.
		ok := !revoked.Load()
		arrived <- struct{}{}
		if n == 1 {
			<-release
		}
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"unauthorized","message":"Not signed in","reason":"signed_out"}}`)
			return
		}
		for k, v := range map[string]string{"User-Id": "usr_1", "User-Email": "ana@acme.test", "User-Role": "admin",
			"Account-Id": "acc_1", "Session-Id": "sess_1"} {
			w.Header().Set("X-Doorman-"+k, v)
		}
	}))
	defer doormanStub.Close()
	// The stub answers /auth/verify's way: one check an exchange.
	c := newClient(t, doormanStub.URL, client.Options{DisableBatching: true})
	check := func() error {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer same-token")
		_, err := c.Verify(context.Background(), req)
		return err
	}

	first := make(chan error, 1)
	go func() { first <- check() }()
	<-arrived // the first exchange is in flight, decided "signed in"
	revoked.Store(true)

	// Checks that begin after the revocation, while the first exchange is
	// still in flight.
	const later = 6
	var wg sync.WaitGroup
	errs := make(chan error, later)
	for range later {
		wg.Go(func() { errs <- check() })
	}
	// Give them time to gather; whether they have or not, none may get
	// the first exchange's answer.
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the check that began before the revocation: %v, want signed in", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var refused *client.UnauthorizedError
		if !errors.As(err, &refused) || refused.Reason != "signed_out" {
			t.Errorf("a check that began after the revocation got %v, want refused (signed_out)", err)
		}
	}
	if n := exchanges.Load(); n < 2 || n > 1+later {
		t.Errorf("%d exchanges for %d checks", n, 1+later)
	}
	t.Logf("%d checks, %d exchanges", 1+later, exchanges.Load())
}

// Against a real Doorman: many concurrent checks of one session while it is
// signed out; no check that began after the sign-out was acknowledged is
// let through, and checks do share exchanges.
func TestCoalescingRevocationRace(t *testing.T) {
	var exchanges atomic.Int64
	e := startDoorman(t, doormanhttp.Config{})
	e.svc.SignInLimits = app.SignInLimits{PerEmail: 1000, EmailBurst: 100}
	inner := e.srv.Config.Handler
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		exchanges.Add(1)
		inner.ServeHTTP(w, r)
	})
	c := newClient(t, e.srv.URL, client.Options{DisableBatching: true})
	checks := raceRevocations(t, c, 20, func(round int) (string, *doorman.Principal) {
		return e.signIn(t, fmt.Sprintf("192.0.2.%d", round+1), "")
	}, func(p *doorman.Principal) error { return e.svc.SignOut(context.Background(), p, app.Meta{}) })
	t.Logf("%d checks, %d exchanges with Doorman", checks, exchanges.Load())
}
