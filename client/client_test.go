package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/client"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
)

// A host application behind the middleware, with a real Doorman beside it.
func TestMiddleware(t *testing.T) {
	ctx := context.Background()
	svc := app.NewService(testdb.SQLite(t), argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	svc.Log = slog.New(slog.DiscardHandler)
	if _, err := svc.CreateUser(ctx, "Acme", "ana@acme.test", "Ana", doorman.RoleAdmin, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	dm := httptest.NewServer(doormanhttp.NewServer(svc, doormanhttp.Config{Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer dm.Close()
	token, p, err := svc.SignIn(ctx, app.SignInRequest{Email: "ana@acme.test", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}

	c := client.New(dm.URL)
	c.LoginURL = "https://auth.example/login"
	host := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := client.IdentityFrom(r.Context())
		if !ok {
			t.Error("no identity in the context")
		}
		io.WriteString(w, id.Email+" "+id.Role+" "+id.SessionID)
	})))
	defer host.Close()

	get := func(hdr ...string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", host.URL+"/reports?x=1", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	if resp, body := get("Authorization", "Bearer "+token); resp.StatusCode != 200 || body != "ana@acme.test admin "+p.Session.ID {
		t.Fatalf("valid bearer: %d %q", resp.StatusCode, body)
	}
	if resp, body := get("Cookie", "doorman_session="+token); resp.StatusCode != 200 || !strings.HasPrefix(body, "ana@acme.test") {
		t.Fatalf("valid cookie: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d, want 401", resp.StatusCode)
	}
	resp, _ := get("Accept", "text/html")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://auth.example/login?next="+url.QueryEscape("/reports?x=1") {
		t.Fatalf("a browser without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Signed out elsewhere: refused on the next request.
	if err := svc.SignOut(ctx, p, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get("Authorization", "Bearer "+token); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d, want 401", resp.StatusCode)
	}
	// Doorman down: 503, never through.
	dm.Close()
	if resp, _ := get("Authorization", "Bearer "+token); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("Doorman down: %d, want 503", resp.StatusCode)
	}
}
