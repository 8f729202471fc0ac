package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
)

// TestSignInThrottledAcrossNodes: two Doorman nodes, each its own store
// connection and its own HTTP server on :0, share one database. Wrong
// passwords for one email, alternating between the nodes, are refused
// after five: the limit is the cluster's, not each node's. A node started
// afterwards (a restart) refuses too, until the wait is over.
func TestSignInThrottledAcrossNodes(t *testing.T) {
	testdb.OneDatabase(t, testSignInThrottledAcrossNodes)
}

func testSignInThrottledAcrossNodes(t *testing.T, open func() doorman.Store) {
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	node := func() (*app.Service, string) {
		svc := app.NewService(open(), testHasher)
		svc.Now = c.Now
		svc.Log = slog.New(slog.DiscardHandler)
		srv := httptest.NewUnstartedServer(nil)
		srv.Config.Handler = doormanhttp.NewServer(svc, doormanhttp.Config{
			BaseURL: &url.URL{Scheme: "http", Host: srv.Listener.Addr().String()},
			Logger:  svc.Log,
		}).Handler()
		srv.Start()
		t.Cleanup(srv.Close)
		return svc, srv.URL
	}
	login := func(base, pw string) (int, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"email": "ana@acme.example", "password": pw})
		resp, err := http.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	svc, a := node()
	_, b := node()
	if _, err := svc.CreateUser(t.Context(), "Acme", "ana@acme.example", "Ana", doorman.RoleMember, password); err != nil {
		t.Fatal(err)
	}
	nodes := []string{a, b}
	for i := range 5 {
		if status, _ := login(nodes[i%2], "wrong password!"); status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d on node %d: %d, want 401", i+1, i%2+1, status)
		}
	}
	status, retry := login(nodes[1], "wrong password!")
	if status != http.StatusTooManyRequests || retry != "12" {
		t.Fatalf("sixth wrong password, on node 2: %d (Retry-After %q), want 429 after 12 s", status, retry)
	}
	// The right password waits as well, on either node.
	if status, _ := login(nodes[0], password); status != http.StatusTooManyRequests {
		t.Fatalf("right password on node 1: %d, want 429", status)
	}

	_, restarted := node()
	if status, retry := login(restarted, password); status != http.StatusTooManyRequests || retry != "12" {
		t.Fatalf("right password on a node started since: %d (Retry-After %q), want 429 after 12 s", status, retry)
	}
	c.Advance(12 * time.Second)
	if status, _ := login(restarted, password); status != http.StatusOK {
		t.Fatalf("after the wait: %d, want 200", status)
	}
}
