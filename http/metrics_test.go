package http_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/doorman/doorman"
	doormanhttp "github.com/doorman/doorman/http"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)
	e.do(c, "GET", "/api/v1/whoami", nil)
	e.do(c, "GET", "/api/v1/whoami", nil)
	e.do(nil, "GET", "/api/v1/whoami", nil)
	e.do(c, "GET", "/api/v1/sessions/"+v.Session.ID, nil)
	e.do(nil, "GET", "/no/such/path", nil)
	e.store.failAuth.Store(true)
	e.do(c, "GET", "/auth/verify", nil)
	e.store.failAuth.Store(false)

	a := e.do(nil, "GET", "/metrics", nil)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %q", a.status, a.header.Get("Content-Type"))
	}
	body := string(a.body)
	for _, want := range []string{
		"# TYPE doorman_http_requests_total counter",
		`doorman_http_requests_total{route="GET /api/v1/whoami",code="200"} 2` + "\n",
		`doorman_http_requests_total{route="GET /api/v1/whoami",code="401"} 1` + "\n",
		`doorman_http_requests_total{route="POST /api/v1/login",code="200"} 1` + "\n",
		`doorman_http_requests_total{route="GET /api/v1/sessions/{id}",code="200"} 1` + "\n",
		`doorman_http_requests_total{route="GET /auth/verify",code="503"} 1` + "\n",
		`doorman_http_requests_total{route="/",code="404"} 1` + "\n",
		"# TYPE doorman_http_request_duration_seconds histogram",
		`doorman_http_request_duration_seconds_bucket{route="GET /api/v1/whoami",le="0.0005"} `,
		`doorman_http_request_duration_seconds_bucket{route="GET /api/v1/whoami",le="2.5"} `,
		`doorman_http_request_duration_seconds_bucket{route="GET /api/v1/whoami",le="+Inf"} 3` + "\n",
		`doorman_http_request_duration_seconds_count{route="GET /api/v1/whoami"} 3` + "\n",
		`doorman_http_request_duration_seconds_sum{route="GET /api/v1/whoami"} `,
		"# TYPE doorman_session_validations_total counter",
		`doorman_session_validations_total{outcome="valid"} 3` + "\n",
		`doorman_session_validations_total{outcome="invalid"} 1` + "\n",
		`doorman_session_validations_total{outcome="unavailable"} 1` + "\n",
		"# TYPE doorman_active_sessions gauge",
		"doorman_active_sessions 1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, v.Session.ID) || strings.Contains(body, "/no/such/path") {
		t.Error("a raw path became a label")
	}
	// Every sample line is well formed.
	sample := regexp.MustCompile(`^[a-z_]+(\{[a-z_]+="[^"\\]*(\\.[^"\\]*)*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$`)
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		if !strings.HasPrefix(l, "# ") && !sample.MatchString(l) {
			t.Errorf("malformed sample line %q", l)
		}
	}
	// Cumulative buckets never decrease.
	var last float64 = -1
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, `doorman_http_request_duration_seconds_bucket{route="GET /api/v1/whoami"`) {
			var n float64
			f := strings.Fields(l)
			if _, err := fmtSscan(f[len(f)-1], &n); err != nil || n < last {
				t.Errorf("bucket line %q: not cumulative", l)
			}
			last = n
		}
	}
}

func TestMetricsStoreFailures(t *testing.T) {
	if body := string(newEnv(t).do(nil, "GET", "/metrics", nil).body); strings.Contains(body, "doorman_store_failures_total") {
		t.Error("doorman_store_failures_total without a source")
	}
	var n atomic.Uint64
	e := newEnv(t, func(c *doormanhttp.Config) { c.StoreFailures = n.Load })
	n.Store(7)
	body := string(e.do(nil, "GET", "/metrics", nil).body)
	for _, want := range []string{"# TYPE doorman_store_failures_total counter\n", "doorman_store_failures_total 7\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
