package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/geoip"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/sqlite"
	"github.com/doorman/doorman/useragent"
)

// benchConfig is what `doorman bench` reads from flags.
type benchConfig struct {
	url             string
	email, password string
	users           int
	concurrency     int
	duration        time.Duration
	warmup          time.Duration
	mode            string // whoami (sessions) or apikey
	key             string // with --url and --mode apikey: a key to use
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	var c benchConfig
	fs.StringVar(&c.url, "url", "", "a running Doorman to load (default: an in-process server on a temporary SQLite file)")
	fs.StringVar(&c.email, "email", "admin@company.com", "with --url: the user to sign in as")
	fs.StringVar(&c.password, "password", "", "with --url: that user's password")
	fs.IntVar(&c.users, "users", 16, "sessions to sign in (in-process: one user each); requests rotate over them")
	fs.IntVar(&c.concurrency, "concurrency", 64, "concurrent keep-alive connections")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long each load runs")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before each run")
	fs.StringVar(&c.mode, "mode", "whoami", "whoami: GET /api/v1/whoami with session tokens; apikey: the same with API keys (Bearer dk_…)")
	fs.StringVar(&c.key, "key", "", "with --url --mode apikey: an API key to use (default: sign in as --email, an admin, and create --users keys)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.users < 1 || c.concurrency < 1 || c.duration <= 0 {
		return errors.New("--users, --concurrency and --duration must be positive")
	}
	if c.mode != "whoami" && c.mode != "apikey" {
		return errors.New("--mode must be whoami or apikey")
	}

	target := c.url
	var tokens []string
	if target == "" {
		dir, err := os.MkdirTemp("", "doorman-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		url, toks, stop, err := startBenchServer(ctx, filepath.Join(dir, "bench.db"), c.users)
		if err != nil {
			return err
		}
		defer stop()
		target, tokens = url, toks
		fmt.Fprintf(stdout, "in-process Doorman on %s, SQLite store, %d users signed in\n", target, c.users)
		if c.mode == "apikey" {
			if tokens, err = createBenchKeys(ctx, target, toks[0], c.users); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d API keys created\n", len(tokens))
		}
	} else if c.mode == "apikey" && c.key != "" {
		tokens = []string{c.key}
		fmt.Fprintf(stdout, "Doorman at %s, API key %s\n", target, doorman.APIKeyPrefixOf(c.key))
	} else {
		if c.password == "" {
			return errors.New("--password is required with --url")
		}
		toks, err := signInMany(ctx, target, c.email, c.password, c.users)
		if err != nil {
			return err
		}
		tokens = toks
		fmt.Fprintf(stdout, "Doorman at %s, %d sessions of %s signed in\n", target, c.users, c.email)
		if c.mode == "apikey" {
			if tokens, err = createBenchKeys(ctx, target, toks[0], c.users); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d API keys created\n", len(tokens))
		}
	}

	whoamiURL := strings.TrimRight(target, "/") + "/api/v1/whoami"
	body, err := fetchOnce(ctx, whoamiURL, tokens[0])
	if err != nil {
		return err
	}
	// The bare handler sends the very bytes whoami sends, so that the ratio
	// measures Doorman's work and nothing about response size.
	bareURL, stopBare, err := startBare(body)
	if err != nil {
		return err
	}
	defer stopBare()

	fmt.Fprintf(stdout, "load: %d connections, %s per run (after %s warm-up), GOMAXPROCS=%d\n",
		c.concurrency, c.duration, c.warmup, runtime.GOMAXPROCS(0))
	who, err := load(ctx, whoamiURL, tokens, c)
	if err != nil {
		return err
	}
	label := "whoami"
	if c.mode == "apikey" {
		label = "apikey"
	}
	fmt.Fprintf(stdout, "%s: %s\n", label, who)
	bare, err := load(ctx, bareURL, tokens, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bare:   %s\n", bare)
	if who.errors > 0 || bare.errors > 0 {
		return fmt.Errorf("%d %s and %d bare requests failed", who.errors, label, bare.errors)
	}
	fmt.Fprintf(stdout, "ratio: %.2f (%s %.0f req/s p50 %s p99 %s; bare %.0f req/s)\n",
		who.rps/bare.rps, label, who.rps, fmtLatency(who.p50), fmtLatency(who.p99), bare.rps)
	return nil
}

// startBenchServer runs Doorman in this process on a fresh SQLite file with
// n users, each signed in once. Access logs are off (level warn), as in a
// deployment that ships them elsewhere.
func startBenchServer(ctx context.Context, path string, n int) (string, []string, func(), error) {
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return "", nil, nil, err
	}
	svc := app.NewService(store, argon2id.New())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc.Log = log
	// Device and place tracking on, as in `serve` (places only if installed).
	if svc.Devices, err = useragent.New(); err != nil {
		store.Close()
		return "", nil, nil, err
	}
	places, err := geoip.Open(defaultGeoIPDir, log)
	if err != nil {
		store.Close()
		return "", nil, nil, err
	}
	svc.Places = places
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		return "", nil, nil, err
	}
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	srv := newHTTPServer(svc, doormanhttp.Config{BaseURL: base, Logger: log})
	go srv.Serve(ln)
	stop := func() {
		srv.Close()
		svc.Flush(context.Background())
		store.Close()
		places.Close()
	}
	password := randomPassword()
	tokens := make([]string, 0, n)
	for i := range n {
		email := fmt.Sprintf("bench%03d@bench.example", i)
		role := doorman.RoleMember
		if i == 0 {
			role = doorman.RoleAdmin // creates the API keys of --mode apikey
		}
		if _, err := svc.CreateUser(ctx, "Bench", email, "", role, password); err != nil {
			stop()
			return "", nil, nil, err
		}
		toks, err := signInMany(ctx, base.String(), email, password, 1)
		if err != nil {
			stop()
			return "", nil, nil, err
		}
		tokens = append(tokens, toks...)
	}
	return base.String(), tokens, stop, nil
}

// signInMany signs in n times over the API and returns the tokens.
func signInMany(ctx context.Context, base, email, password string, n int) ([]string, error) {
	body, _ := json.Marshal(map[string]any{"email": email, "password": password})
	out := make([]string, 0, n)
	for range n {
		req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(base, "/")+"/api/v1/login", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var v struct {
			Token string `json:"token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || v.Token == "" {
			return nil, fmt.Errorf("sign in as %s: HTTP %d", email, resp.StatusCode)
		}
		out = append(out, v.Token)
	}
	return out, nil
}

func fetchOnce(ctx context.Context, u, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return b, err
}

// startBare serves body from a plain net/http handler: the ceiling of this
// machine for the same load.
func startBare(body []byte) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}

type loadResult struct {
	requests, errors int
	rps              float64
	p50, p99         time.Duration
}

func (r loadResult) String() string {
	return fmt.Sprintf("%.0f req/s, p50 %s, p99 %s, %d requests, %d errors",
		r.rps, fmtLatency(r.p50), fmtLatency(r.p99), r.requests, r.errors)
}

// load drives GET u from c.concurrency workers over keep-alive connections,
// each request with the next token, for c.warmup then c.duration.
func load(ctx context.Context, u string, tokens []string, c benchConfig) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: c.concurrency, MaxConnsPerHost: c.concurrency,
		DisableCompression: true, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu       sync.Mutex
		lat      []time.Duration
		requests int
		errs     int
		wg       sync.WaitGroup
	)
	start := time.Now()
	measureFrom := start.Add(c.warmup)
	end := measureFrom.Add(c.duration)
	for w := range c.concurrency {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
			if err != nil {
				return
			}
			var mine []time.Duration
			myErrs := 0
			for i := w; ; i++ {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					break
				}
				req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if t0.Before(measureFrom) {
					continue
				}
				if !ok {
					myErrs++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			requests += len(mine) + myErrs
			errs += myErrs
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	slices.Sort(lat)
	r := loadResult{requests: requests, errors: errs, rps: float64(len(lat)) / c.duration.Seconds()}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)*50/100]
		r.p99 = lat[len(lat)*99/100]
	}
	return r, nil
}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	}
}

// createBenchKeys creates n API keys over the API as the admin of token and
// returns their secrets.
func createBenchKeys(ctx context.Context, base, token string, n int) ([]string, error) {
	out := make([]string, 0, n)
	for i := range n {
		body, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("bench key %d", i)})
		req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(base, "/")+"/api/v1/api-keys", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var v struct {
			Secret string `json:"secret"`
		}
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || err != nil || v.Secret == "" {
			return nil, fmt.Errorf("create API key: HTTP %d (the user must be an admin)", resp.StatusCode)
		}
		out = append(out, v.Secret)
	}
	return out, nil
}
