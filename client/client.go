// Package client lets a Go host application check Doorman sessions: a
// net/http middleware that asks Doorman's forward-auth endpoint about each
// request's session and puts the signed-in person into the request context.
//
//	dm := client.New("http://doorman.internal:8080")
//	dm.LoginURL = "https://auth.example.com/login"
//	http.ListenAndServe(":3000", dm.Middleware(app))
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		id, _ := client.IdentityFrom(r.Context())
//		fmt.Fprintf(w, "hello %s", id.Email)
//	}
//
// Every request is checked, so a session signed out anywhere is refused on
// its next request. When Doorman cannot answer, the middleware answers 503:
// it never lets a request through unchecked.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Identity is who a request's session belongs to.
type Identity struct {
	UserID    string
	Email     string
	Role      string // admin | member
	AccountID string
	SessionID string
}

// Client checks sessions against one Doorman server.
type Client struct {
	// BaseURL is Doorman's address as this application reaches it.
	BaseURL string
	// HTTP is the client used to reach Doorman. Default: a client with a
	// 5-second timeout; validation is on every request, so keep it short.
	HTTP *http.Client
	// LoginURL, when set, is where browsers (requests that accept HTML)
	// without a valid session are redirected, with ?next= the page they
	// asked for. Without it, they get 401.
	LoginURL string
}

// New returns a Client for the Doorman at baseURL.
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 5 * time.Second}}
}

// ErrUnauthorized means the request carries no valid session.
var ErrUnauthorized = errors.New("doorman: no valid session")

// ErrUnavailable means Doorman could not decide (it or its store is down).
var ErrUnavailable = errors.New("doorman: unavailable")

// Verify asks Doorman about the session of r (its Doorman cookie or its
// Authorization header). It returns ErrUnauthorized or an error wrapping
// ErrUnavailable when it cannot say yes.
func (c *Client) Verify(ctx context.Context, r *http.Request) (*Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/auth/verify", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for _, ck := range r.Cookies() {
		if ck.Name == "doorman_session" || ck.Name == "__Host-doorman_session" {
			req.AddCookie(ck)
		}
	}
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	req.Header.Set("X-Forwarded-Uri", r.URL.Path)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		h := resp.Header
		id := &Identity{UserID: h.Get("X-Doorman-User-Id"), Email: h.Get("X-Doorman-User-Email"),
			Role: h.Get("X-Doorman-User-Role"), AccountID: h.Get("X-Doorman-Account-Id"), SessionID: h.Get("X-Doorman-Session-Id")}
		if id.UserID == "" || id.SessionID == "" {
			return nil, fmt.Errorf("%w: answer without identity headers", ErrUnavailable)
		}
		return id, nil
	case http.StatusUnauthorized:
		return nil, ErrUnauthorized
	}
	return nil, fmt.Errorf("%w: HTTP %d", ErrUnavailable, resp.StatusCode)
}

type ctxKey struct{}

// IdentityFrom returns the identity Middleware put into ctx.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok
}

// Middleware lets through only requests with a valid session, with the
// Identity in their context. Others get 401 (or, for browsers and with
// LoginURL set, a redirect to sign-in); when Doorman cannot answer, 503.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := c.Verify(r.Context(), r)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
		case errors.Is(err, ErrUnauthorized):
			if c.LoginURL != "" && r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
				http.Redirect(w, r, c.LoginURL+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in required", http.StatusUnauthorized)
		default:
			w.Header().Set("Retry-After", "5")
			http.Error(w, "authentication service unavailable", http.StatusServiceUnavailable)
		}
	})
}
