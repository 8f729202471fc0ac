package loadtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/sqlite"
)

// short is a run of a fraction of a second: enough to see it work, never
// to measure anything.
func short() Config {
	return Config{Nodes: 1, Users: 2, Concurrency: 4, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond,
		Mode: "whoami", ServerLog: "level info (access log on), text format"}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" when valid
	}{
		{"in-process", func(*Config) {}, ""},
		{"url", func(c *Config) { c.URL = "http://127.0.0.1:1" }, ""},
		{"postgres", func(c *Config) { c.DB = "postgres://127.0.0.1/x"; c.Nodes = 2 }, ""},
		{"postgresql", func(c *Config) { c.DB = "postgresql://127.0.0.1/x" }, ""},
		{"apikey", func(c *Config) { c.Mode = "apikey" }, ""},
		{"no users", func(c *Config) { c.Users = 0 }, "must be positive"},
		{"no connections", func(c *Config) { c.Concurrency = 0 }, "must be positive"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "must be positive"},
		{"no nodes", func(c *Config) { c.Nodes = 0 }, "must be positive"},
		{"unknown mode", func(c *Config) { c.Mode = "login" }, "--mode must be whoami or apikey"},
		{"url and nodes", func(c *Config) { c.URL, c.Nodes = "http://127.0.0.1:1", 2 }, "leave them out with --url"},
		{"url and db", func(c *Config) { c.URL, c.DB = "http://127.0.0.1:1", "postgres://127.0.0.1/x" }, "leave them out with --url"},
		{"sqlite file", func(c *Config) { c.DB = "/var/lib/doorman/doorman.db" }, "--db takes a postgres:// URL"},
	} {
		c := short()
		tc.edit(&c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// load counts every measured request, and the refused ones as errors.
func TestLoadCountsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	c := short()
	c.Concurrency = 2
	r, err := load(context.Background(), []string{srv.URL}, []string{"good", "bad"}, c)
	if err != nil {
		t.Fatal(err)
	}
	// Each worker alternates the two tokens: half its requests fail.
	if r.errors == 0 || r.requests <= r.errors || r.rps <= 0 || r.p50 <= 0 || r.p99 < r.p50 {
		t.Errorf("load = %+v, want successes and failures counted apart", r)
	}
	r, err = load(context.Background(), []string{srv.URL}, []string{"good"}, c)
	if err != nil || r.errors != 0 || r.requests == 0 {
		t.Errorf("load with a good token = %+v, %v; want no errors", r, err)
	}
}

func TestLoadStopsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := short()
	c.Duration = time.Hour
	if _, err := load(ctx, []string{srv.URL}, []string{"t"}, c); err != context.Canceled {
		t.Errorf("load with an ended context = %v, want context.Canceled", err)
	}
}

var ratioLine = regexp.MustCompile(`(?m)^ratio: [0-9]+\.[0-9]{2} \((whoami|apikey) [0-9]+ req/s p50 \S+ p99 \S+; bare [0-9]+ req/s\)$`)

// startNode is a bare Doorman node on SQLite: the wiring of serve, without
// device and place tracking.
func startNode(ctx context.Context, db string, logw io.Writer) (*Node, error) {
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	svc := app.NewService(store, lightHasher)
	svc.Log = slog.New(slog.NewTextHandler(logw, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		return nil, err
	}
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	srv := &http.Server{Handler: doormanhttp.NewServer(svc, doormanhttp.Config{BaseURL: base, Logger: svc.Log}).Handler()}
	go srv.Serve(ln)
	return &Node{URL: base.String(), Service: svc, Stop: func() {
		srv.Close()
		svc.Flush(context.Background())
		store.Close()
	}}, nil
}

// lightHasher is Argon2id at the lowest cost: the run measures requests
// with tokens, never password checks.
var lightHasher = argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

// Two nodes on the run's own SQLite file, with session tokens and with API
// keys, then the same Doorman loaded at its URL.
func TestRunInProcess(t *testing.T) {
	for _, mode := range []string{"whoami", "apikey"} {
		t.Run(mode, func(t *testing.T) {
			c := short()
			c.Nodes, c.Mode = 2, mode
			var out, errs strings.Builder
			if err := Run(context.Background(), c, startNode, &out, &errs); err != nil {
				t.Fatalf("Run: %v\n%s%s", err, out.String(), errs.String())
			}
			text := out.String()
			for _, want := range []string{"2 in-process Doorman nodes on ", "SQLite store (temporary file), 2 users signed in",
				"server log: level info (access log on), text format, to a temporary file"} {
				if !strings.Contains(text, want) {
					t.Errorf("no %q in:\n%s", want, text)
				}
			}
			if got := strings.Contains(text, "2 API keys created"); got != (mode == "apikey") {
				t.Errorf("API keys created: %t in mode %s:\n%s", got, mode, text)
			}
			if m := ratioLine.FindStringSubmatch(text); m == nil || m[1] != mode {
				t.Errorf("no %s ratio in:\n%s", mode, text)
			}
		})
	}
}

func TestRunAtURL(t *testing.T) {
	ctx := context.Background()
	n, err := startNode(ctx, t.TempDir()+"/doorman.db", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if _, err := n.Service.CreateUser(ctx, "Acme", "admin@acme.example", "", doorman.RoleAdmin, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := short()
	c.URL, c.Email, c.Password = n.URL, "admin@acme.example", "correct horse battery"
	var out strings.Builder
	if err := Run(ctx, c, nil, &out, io.Discard); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Doorman at "+n.URL+", 2 sessions of admin@acme.example signed in") ||
		!ratioLine.MatchString(out.String()) {
		t.Errorf("no run at the URL in:\n%s", out.String())
	}
	c.Password = "wrong horse battery"
	if err := Run(ctx, c, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("Run with a wrong password = %v, want the sign-in's 401", err)
	}
}
