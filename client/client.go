// Package client lets a Go host application check Doorman sessions: a
// net/http middleware that asks Doorman's GET /auth/verify about each
// request's session and puts the signed-in person into the request context.
//
//	dm, err := client.New("http://doorman.internal:8080", client.Options{
//		LoginURL: "https://auth.example.com/login",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(":3000", dm.Middleware(app))
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		id, _ := client.IdentityFrom(r.Context())
//		fmt.Fprintf(w, "hello %s", id.Email)
//	}
//
// Every request is checked, so a session signed out anywhere is refused on
// its next request. The checks share one pool of kept-alive connections to
// Doorman, and checks that arrive while earlier ones are in flight share
// exchanges (POST /auth/verify/batch), never one sent before they arrived.
// When Doorman cannot answer, the middleware answers 503: it never lets a
// request through unchecked, and never tells a signed-in person that they
// are signed out because Doorman was slow.
//
// Each check tells Doorman who the end user is (X-Forwarded-For, the
// browser's User-Agent and client hints), so that the sessions page shows
// the person's device and address rather than the host application's.
// Doorman believes the address only when the host application's own address
// is in Doorman's --trusted-proxies; otherwise sessions show the host
// application's address.
package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
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

// Options configure a Client. The zero value is usable: every field states
// its default.
type Options struct {
	// LoginURL, when set, is where browser navigations (GET or HEAD that
	// accept HTML) without a valid session are redirected by the default
	// OnUnauthorized, with ?next= the page they asked for: a path when
	// LoginURL is on the same host, else an absolute URL (which Doorman
	// follows only for hosts in its --allowed-redirect-hosts). Default
	// none: they get 401 like API calls.
	LoginURL string

	// CookieName is the name of Doorman's session cookie as browsers send it
	// to this application. Default: any of the names Doorman gives it
	// (__Host-doorman_session over HTTPS, __Secure-doorman_session with a
	// cookie domain, doorman_session on plain HTTP); Doorman reads only its
	// own. Only that cookie is sent to Doorman, never the application's
	// other cookies.
	CookieName string

	// TrustedProxies are the networks of this application's own reverse
	// proxies, whose X-Forwarded-For, X-Forwarded-Proto and
	// X-Forwarded-Host the middleware believes. Default none: the end user
	// is the connection's peer, since anyone can send those headers and
	// would otherwise choose the address Doorman records.
	TrustedProxies []netip.Prefix

	// Timeout bounds one whole check (connection, request and answer).
	// Default 3 s: every request of the application waits for it, and a
	// Doorman that slow is better reported as unavailable (503).
	Timeout time.Duration
	// DialTimeout bounds opening a connection to Doorman. Default 1 s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake with Doorman. Default 2 s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for Doorman's answer once the
	// request is sent. Default 2 s.
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost is how many kept-alive connections to Doorman
	// the pool holds between checks. Size it for the number of requests the
	// application serves at once; beyond it, connections are opened and
	// closed per check. Default 64.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes pooled connections unused this long. Default 90 s.
	IdleConnTimeout time.Duration
	// TLSClientConfig is used for an https:// Doorman, for example to trust
	// an internal CA. Default: the system roots.
	TLSClientConfig *tls.Config
	// Transport replaces the pooled transport built from the fields above
	// (they are then ignored). Default nil.
	Transport http.RoundTripper

	// OnUnauthorized answers a request without a valid session. reason is
	// Doorman's code for why the session ended ("idle", "expired",
	// "revoked_by_admin", "revoked_by_user", "signed_out", "user_disabled",
	// …), or "" when the request carried no known session. Default: a
	// redirect to LoginURL for browser navigations, else 401 with a JSON
	// error body that carries the reason.
	OnUnauthorized func(w http.ResponseWriter, r *http.Request, reason string)
	// OnUnavailable answers a request that Doorman could not decide about
	// (Doorman or its store down, a timeout, a missing or invalid
	// assertion). It must not serve the request. Default: 503 with a JSON
	// error body and Retry-After.
	OnUnavailable func(w http.ResponseWriter, r *http.Request, err error)

	// Issuer is the iss Doorman's assertions carry: its public base URL
	// (--base-url), which may differ from the address this application
	// reaches it at. Default: the base URL given to New.
	Issuer string
	// VerifyAssertion makes every check require Doorman's signed
	// X-Doorman-Assertion and take the identity from its verified claims
	// rather than from the X-Doorman-* headers: for an application that
	// reaches Doorman through a network or proxy it does not fully trust.
	// The keys come from {BaseURL}/.well-known/jwks.json. Default off.
	VerifyAssertion bool
	// Audience, when set, is the aud the assertion must carry (the host
	// name Doorman was told the request is for). Default: aud not checked.
	Audience string
	// Leeway is the clock difference between Doorman and this application
	// tolerated on the assertion's iat and exp. Default 5 s.
	Leeway time.Duration

	// Now is the clock for the assertion's times and for the windows in
	// which an answer is reused (DisableReuse), which count on its
	// monotonic reading when it has one. Default time.Now.
	Now func() time.Time
	// DisableCoalescing makes every check its own question to Doorman.
	// By default, checks that ask the same question at the same time (the
	// same credentials, client address, User-Agent and host: a page's many
	// requests) share one answer, but only one asked after each of them
	// arrived, so that no check is answered with what Doorman said before
	// it began. Coalescing changes no answer; it saves Doorman and this
	// application the work of the repeated questions.
	DisableCoalescing bool
	// DisableBatching makes every check its own GET /auth/verify (checks
	// of the same question still coalesce unless DisableCoalescing). By
	// default, checks that arrive while MaxBatchesInFlight exchanges are
	// in flight gather into one POST /auth/verify/batch, sent as soon as
	// one of those returns; a check that arrives while fewer are in
	// flight is sent at once. A check only ever joins a batch not yet
	// sent, so that, as with coalescing, none is answered with what
	// Doorman said before it began; each check of a batch is answered
	// exactly as /auth/verify would answer it. Batching changes no
	// answer; under load it saves a whole HTTP exchange per check. A
	// Doorman without the batch endpoint (404 or 405) is asked per check
	// from then on.
	DisableBatching bool
	// MaxBatchesInFlight is how many batches may be in flight to Doorman
	// at once; checks that arrive meanwhile wait for the next. More lets
	// Doorman work on more checks at once; fewer makes larger batches.
	// Default 4.
	MaxBatchesInFlight int
	// DisableReuse makes every check ask Doorman. By default, a batched
	// check's answer that a session is valid also answers the same
	// question (as for coalescing) for as long after the check was sent as
	// Doorman allows (reuse_ms: at most 50 ms, shorter when the session
	// ends sooner, never for API keys or bound sessions), without asking
	// again. Doorman acknowledges every revocation only that long after
	// its commit, so reuse admits nothing a revocation has ended once it
	// was acknowledged; a busy session then costs Doorman one check per
	// window rather than one per request, and its last page and activity
	// are those of the checks Doorman saw. Reuse needs batching and
	// coalescing.
	DisableReuse bool
}

// Client checks sessions against one Doorman server. It is safe for
// concurrent use; make one and share it, so that checks share its pool.
type Client struct {
	base   string
	hc     *http.Client
	opts   Options
	keys   *JWKS
	issuer string
	group  coalescer
	batch  *batcher // nil with DisableBatching
}

// Default option values.
const (
	DefaultTimeout               = 3 * time.Second
	DefaultDialTimeout           = time.Second
	DefaultTLSHandshakeTimeout   = 2 * time.Second
	DefaultResponseHeaderTimeout = 2 * time.Second
	DefaultMaxIdleConnsPerHost   = 64
	DefaultIdleConnTimeout       = 90 * time.Second
	DefaultLeeway                = 5 * time.Second
	DefaultMaxBatchesInFlight    = 4
)

// New returns a Client for the Doorman at baseURL, its address as this
// application reaches it (also the iss of its assertions).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("doorman: base URL %q is not an http(s) URL", baseURL)
	}
	setDefaults(&opts)
	c := &Client{base: strings.TrimRight(baseURL, "/"), opts: opts}
	c.issuer = c.base
	if opts.Issuer != "" {
		c.issuer = opts.Issuer
	}
	rt := opts.Transport
	if rt == nil {
		rt = &http.Transport{
			// Doorman is reached directly: through an environment proxy it
			// would see the proxy's address instead of this application's,
			// and no longer believe its X-Forwarded-For.
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       opts.TLSClientConfig,
			TLSHandshakeTimeout:   opts.TLSHandshakeTimeout,
			ResponseHeaderTimeout: opts.ResponseHeaderTimeout,
			MaxIdleConns:          opts.MaxIdleConnsPerHost,
			MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
			IdleConnTimeout:       opts.IdleConnTimeout,
			ForceAttemptHTTP2:     true,
		}
	}
	// The overall timeout is the context deadline Verify sets, so that the
	// JWKS fetch, which shares the client, is bounded the same way.
	c.hc = &http.Client{Transport: rt,
		// Doorman's answer is the check; a redirect is not one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if opts.VerifyAssertion {
		c.keys = NewJWKS(c.base+"/.well-known/jwks.json", c.hc)
		c.keys.Now = opts.Now
	}
	if !opts.DisableBatching {
		c.batch = newBatcher(c)
	}
	return c, nil
}

func setDefaults(o *Options) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, DefaultTimeout)
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	def(&o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	def(&o.IdleConnTimeout, DefaultIdleConnTimeout)
	def(&o.Leeway, DefaultLeeway)
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if o.MaxBatchesInFlight <= 0 {
		o.MaxBatchesInFlight = DefaultMaxBatchesInFlight
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// ErrUnauthorized means the request carries no valid session. Verify
// returns it as an *UnauthorizedError with Doorman's reason.
var ErrUnauthorized = errors.New("doorman: no valid session")

// ErrUnavailable means Doorman could not decide (it or its store is down, it
// did not answer in time, or its answer could not be verified).
var ErrUnavailable = errors.New("doorman: unavailable")

// UnauthorizedError is Doorman's refusal of a request's session.
type UnauthorizedError struct {
	// Reason is Doorman's code for why the session ended ("idle",
	// "expired", "revoked_by_admin", "signed_out", …); "" when the request
	// carried no session Doorman knows.
	Reason string
}

func (e *UnauthorizedError) Error() string {
	if e.Reason == "" {
		return ErrUnauthorized.Error()
	}
	return ErrUnauthorized.Error() + " (" + e.Reason + ")"
}

// Is makes errors.Is(err, ErrUnauthorized) hold.
func (e *UnauthorizedError) Is(target error) bool { return target == ErrUnauthorized }

// defaultCookieNames are the names Doorman gives its session cookie.
var defaultCookieNames = []string{"__Host-doorman_session", "__Secure-doorman_session", "doorman_session"}

// clientHintHeaders are the User-Agent Client Hints Doorman reads to name a
// device more exactly than the User-Agent string can.
var clientHintHeaders = []string{"Sec-CH-UA", "Sec-CH-UA-Mobile", "Sec-CH-UA-Platform",
	"Sec-CH-UA-Platform-Version", "Sec-CH-UA-Full-Version-List", "Sec-CH-UA-Model"}

// maxErrorBody is how much of Doorman's answer is read: its error bodies
// are small, and the rest is drained only up to this so that a confused
// server cannot hold the check.
const maxErrorBody = 64 << 10

// Verify asks Doorman about the session of r (its Doorman cookie or its
// Authorization header). It returns an *UnauthorizedError (errors.Is
// ErrUnauthorized) or an error wrapping ErrUnavailable when it cannot say
// yes. The credentials go only to Doorman and are never logged.
func (c *Client) Verify(ctx context.Context, r *http.Request) (*Identity, error) {
	h := make(http.Header, 8)
	c.credentials(h, r)
	c.forwarded(h, r)
	h["Accept"] = []string{"application/json"}
	if c.opts.DisableCoalescing && c.batch == nil {
		return c.exchange(ctx, h)
	}
	key := ""
	if c.batch != nil && !c.opts.DisableCoalescing {
		key = coalesceKey(h)
		// Before anything else: a reused answer costs no timer.
		if id := c.batch.reuse.get(key, c.opts.Now()); id != nil {
			return id, nil
		}
	}
	// The whole check, waiting for an exchange in flight included, takes
	// at most Timeout.
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var id *Identity
	var err error
	if c.batch != nil {
		id, err = c.batch.do(ctx, h, key)
	} else {
		id, err = c.perRequest(ctx, h)
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrUnavailable) {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return id, err
}

// coalesceKey is what makes two checks the same question for Doorman: every
// header sent but the path (X-Forwarded-Uri), which Doorman keeps only as
// the session's last page. The key holds credentials; it lives in memory
// while the exchange is in flight and its answer may be reused, and is
// never logged.
func coalesceKey(h http.Header) string {
	var b strings.Builder
	for _, k := range coalesceHeaders {
		for _, v := range h[k] {
			b.WriteString(k)
			b.WriteByte(0) // net/http refuses NUL in header values
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	return b.String()
}

// coalesceHeaders are the headers Verify sends, but X-Forwarded-Uri.
var coalesceHeaders = append([]string{"Authorization", "Cookie", "X-Forwarded-For", "X-Forwarded-Proto",
	"X-Forwarded-Host", "User-Agent", "Accept"}, clientHintHeaders...)

// perRequest asks Doorman's /auth/verify about the check with headers h,
// sharing the exchange with identical checks unless DisableCoalescing.
func (c *Client) perRequest(ctx context.Context, h http.Header) (*Identity, error) {
	if c.opts.DisableCoalescing {
		return c.exchange(ctx, h)
	}
	return c.group.do(ctx, coalesceKey(h), func(ctx context.Context) (*Identity, error) {
		return c.exchange(ctx, h)
	})
}

// exchange asks Doorman's /auth/verify with the headers h.
func (c *Client) exchange(ctx context.Context, h http.Header) (*Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/auth/verify", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header = h
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer func() {
		// Drained to the end, the connection goes back to the pool.
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	ah := resp.Header
	id := Identity{UserID: ah.Get("X-Doorman-User-Id"), Email: ah.Get("X-Doorman-User-Email"),
		Role: ah.Get("X-Doorman-User-Role"), AccountID: ah.Get("X-Doorman-Account-Id"), SessionID: ah.Get("X-Doorman-Session-Id")}
	var reason string
	if resp.StatusCode == http.StatusUnauthorized {
		var body struct {
			Error struct {
				Reason string `json:"reason"`
			} `json:"error"`
		}
		// A body that is not Doorman's JSON still means 401: only the
		// reason is unknown.
		json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&body)
		reason = body.Error.Reason
	}
	return c.outcome(ctx, resp.StatusCode, id, ah.Get("X-Doorman-Assertion"), reason)
}

// outcome is the result of a check that Doorman answered with status, the
// identity and assertion of its X-Doorman-* headers, and the reason of its
// 401: the Identity (from the verified assertion with VerifyAssertion), an
// *UnauthorizedError, or an error wrapping ErrUnavailable. Checks sent one
// by one and in batches share it, so that they mean the same.
func (c *Client) outcome(ctx context.Context, status int, id Identity, assertion, reason string) (*Identity, error) {
	switch status {
	case http.StatusOK:
		if c.opts.VerifyAssertion {
			return c.assertedIdentity(ctx, assertion)
		}
		if id.UserID == "" || id.SessionID == "" {
			return nil, fmt.Errorf("%w: answer without identity headers", ErrUnavailable)
		}
		return &id, nil
	case http.StatusUnauthorized:
		return nil, &UnauthorizedError{Reason: reason}
	}
	return nil, fmt.Errorf("%w: HTTP %d", ErrUnavailable, status)
}

func (c *Client) assertedIdentity(ctx context.Context, token string) (*Identity, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: %w: Doorman sent no X-Doorman-Assertion", ErrUnavailable, ErrAssertion)
	}
	cl, err := VerifyAssertion(ctx, token, c.keys, Expect{Issuer: c.issuer, Audience: c.opts.Audience,
		Now: c.opts.Now(), Leeway: c.opts.Leeway})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return cl.Identity(), nil
}

// credentials copies the request's Doorman credentials, and nothing else of
// its cookies, into h.
func (c *Client) credentials(h http.Header, r *http.Request) {
	if a := r.Header.Values("Authorization"); len(a) > 0 {
		h["Authorization"] = a
	}
	names := defaultCookieNames
	if c.opts.CookieName != "" {
		names = []string{c.opts.CookieName}
	}
	var parts []string
	for _, n := range names {
		for _, ck := range r.CookiesNamed(n) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
	}
	if len(parts) > 0 {
		h["Cookie"] = []string{strings.Join(parts, "; ")}
	}
}

// forwarded describes the end user's request to Doorman in h: the client's
// address, scheme, host and path, its User-Agent and client hints.
func (c *Client) forwarded(h http.Header, r *http.Request) {
	// The five values below share one allocation, each its own
	// one-element slice.
	v := make([]string, 5)
	one := func(i int, s string) []string { v[i] = s; return v[i : i+1 : i+1] }
	peer := addrOf(r.RemoteAddr)
	trusted := c.trusted(peer)
	if a := c.clientAddr(r, peer, trusted); a.IsValid() {
		// One address, the client as this application resolved it, rather
		// than the incoming chain with the peer appended: Doorman would
		// otherwise need this application's proxies in its own
		// --trusted-proxies too, and would record a proxy as the client.
		h["X-Forwarded-For"] = one(0, a.String())
	}
	proto, host := "http", r.Host
	if r.TLS != nil {
		proto = "https"
	}
	if trusted {
		if v := firstValue(r.Header.Get("X-Forwarded-Proto")); v == "http" || v == "https" {
			proto = v
		}
		if v := firstValue(r.Header.Get("X-Forwarded-Host")); v != "" {
			host = v
		}
	}
	h["X-Forwarded-Proto"] = one(1, proto)
	if host != "" {
		h["X-Forwarded-Host"] = one(2, host)
	}
	// The path only: Doorman keeps the page, not its query, which may carry
	// secrets (reset tokens, OAuth codes) that have no business travelling
	// further or reaching a log on the way.
	h["X-Forwarded-Uri"] = one(3, r.URL.EscapedPath())
	// Set even when empty: an empty User-Agent keeps Go's own from being
	// sent and shown as the person's device.
	h["User-Agent"] = one(4, r.UserAgent())
	for _, k := range clientHintHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
}

// clientAddr is the end user's address: the connection's peer, or, when the
// peer is one of this application's trusted proxies, the first address of
// X-Forwarded-For, walked from the right, that is not a trusted proxy.
// Everything left of that address may have been written by the client.
func (c *Client) clientAddr(r *http.Request, peer netip.Addr, trusted bool) netip.Addr {
	if !trusted {
		return peer
	}
	lines := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(lines) - 1; i >= 0; i-- {
		entries := strings.Split(lines[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			e := strings.TrimSpace(entries[j])
			if e == "" {
				continue
			}
			a := addrOf(e)
			if !a.IsValid() {
				return peer // a malformed chain says nothing reliable
			}
			client = a
			if !c.trusted(a) {
				return a
			}
		}
	}
	return client
}

func (c *Client) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range c.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrOf parses an address with or without a port, IPv4-mapped addresses
// as IPv4; the zero Addr when s is neither.
func addrOf(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// firstValue is the first of a comma-separated header value, the one the
// proxy nearest the client wrote.
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

type ctxKey struct{}

// IdentityFrom returns the identity Middleware put into ctx.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok
}

// Middleware lets through only requests with a valid session, with the
// Identity in their context and without any X-Doorman-* header the client
// sent (so that no handler can mistake one for Doorman's word). Others go
// to OnUnauthorized; when Doorman cannot decide, to OnUnavailable.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := c.Verify(r.Context(), r)
		var refused *UnauthorizedError
		switch {
		case err == nil:
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
			stripDoormanHeaders(r)
			next.ServeHTTP(w, r)
		case errors.As(err, &refused):
			if c.opts.OnUnauthorized != nil {
				c.opts.OnUnauthorized(w, r, refused.Reason)
				return
			}
			c.unauthorized(w, r, refused.Reason)
		default:
			if c.opts.OnUnavailable != nil {
				c.opts.OnUnavailable(w, r, err)
				return
			}
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "unavailable", "Authentication service unavailable", "")
		}
	})
}

// stripDoormanHeaders removes X-Doorman-* headers from r, which WithContext
// has already copied, so the caller's request is untouched.
func stripDoormanHeaders(r *http.Request) {
	var h http.Header
	for k := range r.Header {
		if len(k) > 10 && strings.EqualFold(k[:10], "X-Doorman-") {
			if h == nil {
				h = r.Header.Clone()
				r.Header = h
			}
			delete(h, k)
		}
	}
}

// unauthorized is the default OnUnauthorized.
func (c *Client) unauthorized(w http.ResponseWriter, r *http.Request, reason string) {
	if c.opts.LoginURL != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		if loc, err := c.loginLocation(r); err == nil {
			http.Redirect(w, r, loc, http.StatusSeeOther)
			return
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="doorman"`)
	writeError(w, http.StatusUnauthorized, "unauthorized", "Sign in required", reason)
}

// loginLocation is LoginURL with next= the page r asked for: its path and
// query when LoginURL is on r's host, else its absolute URL.
func (c *Client) loginLocation(r *http.Request) (string, error) {
	u, err := url.Parse(c.opts.LoginURL)
	if err != nil {
		return "", err
	}
	next := r.URL.RequestURI()
	host := r.Host
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	if c.trusted(addrOf(r.RemoteAddr)) {
		if v := firstValue(r.Header.Get("X-Forwarded-Host")); v != "" {
			host = v
		}
		if v := firstValue(r.Header.Get("X-Forwarded-Proto")); v == "http" || v == "https" {
			proto = v
		}
	}
	if u.Host != "" && !strings.EqualFold(u.Host, host) {
		next = proto + "://" + host + next
	}
	q := u.Query()
	q.Set("next", next)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// writeError answers in the shape of Doorman's own error bodies.
func writeError(w http.ResponseWriter, status int, code, msg, reason string) {
	body := map[string]string{"code": code, "message": msg}
	if reason != "" {
		body["reason"] = reason
	}
	b, _ := json.Marshal(map[string]any{"error": body})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
