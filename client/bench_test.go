package client_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/client"
	doormanhttp "github.com/doorman/doorman/http"
)

// BenchmarkHostApp measures a trivial host application alone (bare) and
// behind the middleware checking every request against a real Doorman on
// the same machine, in one run so that they compare. With the default
// options (a valid answer reused for its window; checks that arrive while
// exchanges are in flight share a POST /auth/verify/batch, identical ones
// one item of it): all requests of one session (middleware) and the same
// over 16 sessions (middleware-16-sessions). With reuse off, every request
// asks Doorman: no-reuse and no-reuse-16-sessions (as many sessions as
// concurrent requests, so few checks are identical and batching does the
// sharing). With batching off,
// one GET /auth/verify per check, as before batching: per-request and
// per-request-16-sessions (identical concurrent checks still coalesce), and
// per-request-uncoalesced (coalescing off too, one session).
func BenchmarkHostApp(b *testing.B) {
	e := startDoorman(b, doormanhttp.Config{})
	e.svc.SignInLimits = app.SignInLimits{PerEmail: 1000, EmailBurst: 100}
	var tokens []string
	for i := range 16 {
		t, _ := e.signIn(b, fmt.Sprintf("192.0.2.%d", i+1), "")
		tokens = append(tokens, t)
	}
	hostApp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	newMiddleware := func(opts client.Options) http.Handler {
		c, err := client.New(e.srv.URL, opts)
		if err != nil {
			b.Fatal(err)
		}
		return c.Middleware(hostApp)
	}
	batched := newMiddleware(client.Options{})
	noReuse := newMiddleware(client.Options{DisableReuse: true})
	perRequest := newMiddleware(client.Options{DisableBatching: true})
	uncoalesced := newMiddleware(client.Options{DisableBatching: true, DisableCoalescing: true})
	for _, bc := range []struct {
		name     string
		h        http.Handler
		sessions int
	}{{"bare", hostApp, 1}, {"middleware", batched, 1}, {"middleware-16-sessions", batched, 16},
		{"no-reuse", noReuse, 1}, {"no-reuse-16-sessions", noReuse, 16},
		{"per-request", perRequest, 1}, {"per-request-16-sessions", perRequest, 16},
		{"per-request-uncoalesced", uncoalesced, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			host := httptest.NewServer(bc.h)
			defer host.Close()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			defer hc.CloseIdleConnections()
			b.SetParallelism(8)
			b.ReportAllocs()
			var worker atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				token := tokens[int(worker.Add(1))%bc.sessions]
				for pb.Next() {
					req, _ := http.NewRequest("GET", host.URL+"/reports", nil)
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
