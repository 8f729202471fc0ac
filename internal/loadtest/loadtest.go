// Package loadtest is the load tool behind `doorman bench`. It loads GET
// /api/v1/whoami, with session tokens or API keys, from keep-alive
// connections; then it loads a bare net/http handler on the same machine
// that answers the very same bytes; and it reports both and their ratio,
// the share of the machine's ceiling that Doorman reaches. It loads a
// Doorman at a URL, or Doorman nodes that it runs in this process on a
// store of its own (a temporary SQLite file, or a schema of its own in a
// PostgreSQL database, dropped at the end), started by a StartNode that
// cmd/doorman wires as serve does. Nothing of it is in the server.
package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
)

// Config is what a run does. The messages of Validate name the flags of
// `doorman bench` that set each field.
type Config struct {
	URL   string // a running Doorman to load; "" runs Nodes in this process
	DB    string // in-process: "" for a temporary SQLite file, or a postgres:// URL
	Nodes int    // in-process: Doorman servers on the one store
	// ServerLog says, for the report, how the in-process servers log, such
	// as "level info (access log on), text format".
	ServerLog       string
	Email, Password string // with URL: the user to sign in as
	Users           int    // sessions to sign in (in-process: one user each)
	Concurrency     int    // concurrent keep-alive connections
	Duration        time.Duration
	Warmup          time.Duration // unmeasured load before each run
	Mode            string        // "whoami" (session tokens) or "apikey"
	Key             string        // with URL and Mode "apikey": a key to use
}

// Node is one Doorman server running in this process.
type Node struct {
	URL     string       // its base URL
	Service *app.Service // its Service, which creates the users to sign in
	Stop    func()       // stops the server and closes its store
}

// StartNode starts one Doorman server on a loopback port, on the store db
// (a SQLite file path, or a postgres:// URL; migrated as it opens), with
// its log written to logw.
type StartNode func(ctx context.Context, db string, logw io.Writer) (*Node, error)

// Validate returns an error when c cannot run: counts and durations must
// be positive, Mode known, DB and Nodes only without URL, and DB a
// PostgreSQL URL (on SQLite the run keeps to a temporary file of its own,
// as it creates users).
func (c Config) Validate() error {
	if c.Users < 1 || c.Concurrency < 1 || c.Duration <= 0 || c.Nodes < 1 {
		return errors.New("--users, --concurrency, --duration and --nodes must be positive")
	}
	if c.Mode != "whoami" && c.Mode != "apikey" {
		return errors.New("--mode must be whoami or apikey")
	}
	if c.URL != "" && (c.DB != "" || c.Nodes != 1) {
		return errors.New("--db and --nodes run Doorman in this process: leave them out with --url")
	}
	if c.DB != "" && !isPostgresURL(c.DB) {
		return errors.New("--db takes a postgres:// URL: bench creates users, so it runs on SQLite only in a temporary file of its own (the default)")
	}
	return nil
}

// isPostgresURL reports whether db names PostgreSQL, as cmd/doorman's
// stores tell it.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// describePostgres names the database of dsn without its password or
// parameters.
func describePostgres(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return "PostgreSQL"
	}
	u.User = nil
	u.RawQuery = ""
	return "PostgreSQL " + u.String()
}

// Run loads Doorman as c says and prints the results to stdout: c.URL's,
// or c.Nodes nodes that start runs in this process. It fails when c is not
// valid, or when any request of the measured load failed (in-process, the
// servers' log is then kept, and named on stderr).
func Run(ctx context.Context, c Config, start StartNode, stdout, stderr io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.URL == "" {
		return runInProcess(ctx, c, start, stdout, stderr)
	}
	var tokens []string
	if c.Mode == "apikey" && c.Key != "" {
		tokens = []string{c.Key}
		fmt.Fprintf(stdout, "Doorman at %s, API key %s\n", c.URL, doorman.APIKeyPrefixOf(c.Key))
	} else {
		if c.Password == "" {
			return errors.New("--password is required with --url")
		}
		toks, err := signInMany(ctx, c.URL, c.Email, c.Password, c.Users)
		if err != nil {
			return err
		}
		tokens = toks
		fmt.Fprintf(stdout, "Doorman at %s, %d sessions of %s signed in\n", c.URL, c.Users, c.Email)
		if c.Mode == "apikey" {
			if tokens, err = createKeys(ctx, c.URL, toks[0], c.Users); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d API keys created\n", len(tokens))
		}
	}
	return compare(ctx, []string{c.URL}, tokens, c, stdout)
}

// runInProcess runs c.Nodes nodes on a store of the run's own, signs its
// users in, and loads them.
func runInProcess(ctx context.Context, c Config, start StartNode, stdout, stderr io.Writer) error {
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
	if c.DB != "" {
		dsn, schema, drop, err := createSchema(ctx, c.DB)
		if err != nil {
			return err
		}
		defer func() { // after the nodes below have closed their stores
			if err := drop(); err != nil {
				fmt.Fprintf(stderr, "doorman bench: %v\n", err)
			}
		}()
		db, store = dsn, fmt.Sprintf("%s, schema %s (dropped at the end)", describePostgres(c.DB), schema)
	}
	logPath := filepath.Join(dir, "doorman.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	urls, tokens, stop, err := startNodes(ctx, db, c, start, logFile)
	if err != nil {
		return err
	}
	defer func() {
		stop()
		if keepLog {
			fmt.Fprintf(stderr, "the servers' log is kept in %s\n", logPath)
		}
	}()
	nodes := "in-process Doorman on " + urls[0]
	if len(urls) > 1 {
		nodes = fmt.Sprintf("%d in-process Doorman nodes on %s", len(urls), strings.Join(urls, ", "))
	}
	fmt.Fprintf(stdout, "%s, %s, %d users signed in\n", nodes, store, c.Users)
	fmt.Fprintf(stdout, "server log: %s, to a temporary file\n", c.ServerLog)
	if c.Mode == "apikey" {
		if tokens, err = createKeys(ctx, urls[0], tokens[0], c.Users); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d API keys created\n", len(tokens))
	}
	err = compare(ctx, urls, tokens, c, stdout)
	keepLog = err != nil && ctx.Err() == nil // failed requests: their causes are in the log
	return err
}

// compare loads whoami on targets (spread over them), then a bare handler
// that answers the same bytes, and prints both and their ratio.
func compare(ctx context.Context, targets, tokens []string, c Config, stdout io.Writer) error {
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
		c.Concurrency, c.Duration, c.Warmup, runtime.GOMAXPROCS(0))
	who, err := load(ctx, whoami, tokens, c)
	if err != nil {
		return err
	}
	label := "whoami"
	if c.Mode == "apikey" {
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

// startNodes runs c.Nodes Doorman servers in this process on the store db
// (each with a store, a service and an access log of its own, as separate
// processes would have), creates c.Users users and signs each in once, on
// the nodes in turn.
func startNodes(ctx context.Context, db string, c Config, start StartNode, logw io.Writer) (urls, tokens []string, stop func(), err error) {
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
	for range c.Nodes {
		n, err := start(ctx, db, logw)
		if err != nil {
			return nil, nil, nil, err
		}
		stops = append(stops, n.Stop)
		urls = append(urls, n.URL)
		svcs = append(svcs, n.Service)
	}
	password := newPassword()
	for i := range c.Users {
		email := fmt.Sprintf("bench%03d@bench.example", i)
		role := doorman.RoleMember
		if i == 0 {
			role = doorman.RoleAdmin // creates the API keys of Mode apikey
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

// createSchema creates a schema of bench's own, doorman_bench_<random>,
// in the PostgreSQL database of dsn, so that bench's users and sessions
// never mix with the data already there. It returns dsn with that schema as
// search_path, the schema's name, and a function that drops the schema.
func createSchema(ctx context.Context, dsn string) (string, string, func() error, error) {
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

// load drives GET on urls from c.Concurrency workers over keep-alive
// connections, worker i on urls[i%len(urls)], each request with the next
// token, for c.Warmup then c.Duration.
func load(ctx context.Context, urls []string, tokens []string, c Config) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: c.Concurrency, MaxConnsPerHost: c.Concurrency,
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
	measureFrom := start.Add(c.Warmup)
	end := measureFrom.Add(c.Duration)
	for w := range c.Concurrency {
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
	r := loadResult{requests: requests, errors: errs, rps: float64(len(lat)) / c.Duration.Seconds()}
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

// createKeys creates n API keys over the API as the admin of token and
// returns their secrets.
func createKeys(ctx context.Context, base, token string, n int) ([]string, error) {
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

// newPassword returns the in-process users' password: random, as no one
// signs in with it but the run.
func newPassword() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
