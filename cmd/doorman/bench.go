package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
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

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/geoip"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/useragent"
)

// benchConfig is what `doorman bench` reads from flags.
type benchConfig struct {
	url                 string
	db                  string // in-process: "" for a temporary SQLite file, or a postgres:// URL
	nodes               int    // in-process: Doorman servers on the one store
	logFormat, logLevel string // in-process: the servers' log, as serve's flags
	email, password     string
	users               int
	concurrency         int
	duration            time.Duration
	warmup              time.Duration
	mode                string // whoami (sessions) or apikey
	key                 string // with --url and --mode apikey: a key to use
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	var c benchConfig
	fs.StringVar(&c.url, "url", "", "a running Doorman to load (default: Doorman in this process, on a temporary SQLite file or on --db)")
	fs.StringVar(&c.db, "db", "", "a postgres:// URL to run the in-process Doorman on, in a fresh schema dropped at the end (default: a temporary SQLite file); taken from the command line only, never from DOORMAN_DB, so that bench cannot load a database by accident")
	fs.IntVar(&c.nodes, "nodes", 1, "in-process Doorman servers on the same store; the load is spread over them")
	fs.StringVar(&c.logFormat, "log-format", "text", "in-process: log format, as serve's (text or json); the servers' log goes to a temporary file")
	fs.StringVar(&c.logLevel, "log-level", "info", "in-process: log level, as serve's; info has the access log on, as serve has by default")
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
	dbGiven := false
	fs.Visit(func(f *flag.Flag) { dbGiven = dbGiven || f.Name == "db" }) // Visit sees the command line, not DOORMAN_*
	if !dbGiven {
		c.db = ""
	}
	if c.users < 1 || c.concurrency < 1 || c.duration <= 0 || c.nodes < 1 {
		return errors.New("--users, --concurrency, --duration and --nodes must be positive")
	}
	if c.mode != "whoami" && c.mode != "apikey" {
		return errors.New("--mode must be whoami or apikey")
	}
	if c.url != "" && (c.db != "" || c.nodes != 1) {
		return errors.New("--db and --nodes run Doorman in this process: leave them out with --url")
	}
	if c.db != "" && !isPostgresURL(c.db) {
		return errors.New("--db takes a postgres:// URL: bench creates users, so it runs on SQLite only in a temporary file of its own (the default)")
	}
	if _, err := newLogger(io.Discard, c.logFormat, c.logLevel); err != nil {
		return err
	}

	targets := []string{c.url}
	var tokens []string
	if c.url == "" {
		dir, err := os.MkdirTemp("", "doorman-bench-")
		if err != nil {
			return err
		}
		keepLog := false
		defer func() {
			if !keepLog {
				os.RemoveAll(dir)
			}
		}()
		db, store := filepath.Join(dir, "bench.db"), "SQLite store (temporary file)"
		if c.db != "" {
			dsn, schema, drop, err := createBenchSchema(ctx, c.db)
			if err != nil {
				return err
			}
			defer func() { // after the nodes below have closed their stores
				if err := drop(); err != nil {
					fmt.Fprintf(stderr, "doorman bench: %v\n", err)
				}
			}()
			db, store = dsn, fmt.Sprintf("%s, schema %s (dropped at the end)", describeDB(c.db), schema)
		}
		logPath := filepath.Join(dir, "doorman.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer logFile.Close()
		urls, toks, stop, err := startBenchNodes(ctx, db, c, logFile)
		if err != nil {
			return err
		}
		defer func() {
			stop()
			if keepLog {
				fmt.Fprintf(stderr, "the servers' log is kept in %s\n", logPath)
			}
		}()
		targets, tokens = urls, toks
		nodes := "in-process Doorman on " + urls[0]
		if len(urls) > 1 {
			nodes = fmt.Sprintf("%d in-process Doorman nodes on %s", len(urls), strings.Join(urls, ", "))
		}
		fmt.Fprintf(stdout, "%s, %s, %d users signed in\n", nodes, store, c.users)
		access := "access log on"
		if l, _ := newLogger(io.Discard, c.logFormat, c.logLevel); !l.Enabled(ctx, slog.LevelInfo) {
			access = "access log off"
		}
		fmt.Fprintf(stdout, "server log: level %s (%s), %s format, to a temporary file\n", c.logLevel, access, c.logFormat)
		if c.mode == "apikey" {
			if tokens, err = createBenchKeys(ctx, urls[0], toks[0], c.users); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d API keys created\n", len(tokens))
		}
		err = runBench(ctx, targets, tokens, c, stdout)
		keepLog = err != nil && ctx.Err() == nil // failed requests: their causes are in the log
		return err
	}
	if c.mode == "apikey" && c.key != "" {
		tokens = []string{c.key}
		fmt.Fprintf(stdout, "Doorman at %s, API key %s\n", c.url, doorman.APIKeyPrefixOf(c.key))
	} else {
		if c.password == "" {
			return errors.New("--password is required with --url")
		}
		toks, err := signInMany(ctx, c.url, c.email, c.password, c.users)
		if err != nil {
			return err
		}
		tokens = toks
		fmt.Fprintf(stdout, "Doorman at %s, %d sessions of %s signed in\n", c.url, c.users, c.email)
		if c.mode == "apikey" {
			if tokens, err = createBenchKeys(ctx, c.url, toks[0], c.users); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d API keys created\n", len(tokens))
		}
	}
	return runBench(ctx, targets, tokens, c, stdout)
}

// runBench loads whoami on targets (spread over them), then a bare handler
// that answers the same bytes, and prints both and their ratio.
func runBench(ctx context.Context, targets, tokens []string, c benchConfig, stdout io.Writer) error {
	whoami := make([]string, len(targets))
	var body []byte
	for i, t := range targets {
		whoami[i] = strings.TrimRight(t, "/") + "/api/v1/whoami"
		b, err := fetchOnce(ctx, whoami[i], tokens[0])
		if err != nil {
			return err
		}
		if body == nil {
			body = b
		}
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
	who, err := load(ctx, whoami, tokens, c)
	if err != nil {
		return err
	}
	label := "whoami"
	if c.mode == "apikey" {
		label = "apikey"
	}
	fmt.Fprintf(stdout, "%s: %s\n", label, who)
	bare, err := load(ctx, []string{bareURL}, tokens, c)
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

// startBenchNodes runs c.nodes Doorman servers in this process on the store
// db (each with a store, a service and an access log of its own, as
// separate processes would have), creates c.users users and signs each in
// once, on the nodes in turn. Device and place tracking are on, and the log
// is as serve's with c's --log-format and --log-level, written to logw.
func startBenchNodes(ctx context.Context, db string, c benchConfig, logw io.Writer) (urls, tokens []string, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	var svcs []*app.Service
	for range c.nodes {
		u, svc, stopNode, err := startBenchNode(ctx, db, c, logw)
		if err != nil {
			return nil, nil, nil, err
		}
		stops = append(stops, stopNode)
		urls = append(urls, u)
		svcs = append(svcs, svc)
	}
	password := randomPassword()
	for i := range c.users {
		email := fmt.Sprintf("bench%03d@bench.example", i)
		role := doorman.RoleMember
		if i == 0 {
			role = doorman.RoleAdmin // creates the API keys of --mode apikey
		}
		if _, err := svcs[0].CreateUser(ctx, "Bench", email, "", role, password); err != nil {
			return nil, nil, nil, err
		}
		toks, err := signInMany(ctx, urls[i%len(urls)], email, password, 1)
		if err != nil {
			return nil, nil, nil, err
		}
		tokens = append(tokens, toks...)
	}
	return urls, tokens, stop, nil
}

// startBenchNode runs one Doorman server on db, on a loopback port.
func startBenchNode(ctx context.Context, db string, c benchConfig, logw io.Writer) (string, *app.Service, func(), error) {
	log, err := newLogger(logw, c.logFormat, c.logLevel)
	if err != nil {
		return "", nil, nil, err
	}
	access, err := newAccessLog(logw, c.logFormat, c.logLevel)
	if err != nil {
		return "", nil, nil, err
	}
	store, err := openStore(ctx, db)
	if err != nil {
		return "", nil, nil, err
	}
	svc := app.NewService(store, argon2id.New())
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
		places.Close()
		return "", nil, nil, err
	}
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	srv := newHTTPServer(svc, doormanhttp.Config{BaseURL: base, Logger: log, AccessLog: access})
	go srv.Serve(ln)
	stop := func() {
		srv.Close()
		if access != nil {
			access.Close()
		}
		svc.Flush(context.Background())
		store.Close()
		places.Close()
	}
	return base.String(), svc, stop, nil
}

// createBenchSchema creates a schema of bench's own, doorman_bench_<random>,
// in the PostgreSQL database of dsn, so that bench's users and sessions
// never mix with the data already there. It returns dsn with that schema as
// search_path, the schema's name, and a function that drops the schema.
func createBenchSchema(ctx context.Context, dsn string) (string, string, func() error, error) {
	var b [6]byte
	rand.Read(b[:])
	schema := "doorman_bench_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{schema}.Sanitize()
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", nil, fmt.Errorf("--db: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends it to the server as a run-time parameter
	u.RawQuery = q.Encode()

	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		return "", "", nil, fmt.Errorf("--db: create schema %s: %w", schema, err)
	}
	drop := func() error {
		// Not the command's context: an interrupted bench cleans up too.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	return u.String(), schema, drop, nil
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

// load drives GET on urls from c.concurrency workers over keep-alive
// connections, worker i on urls[i%len(urls)], each request with the next
// token, for c.warmup then c.duration.
func load(ctx context.Context, urls []string, tokens []string, c benchConfig) (loadResult, error) {
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
			req, err := http.NewRequestWithContext(ctx, "GET", urls[w%len(urls)], nil)
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
