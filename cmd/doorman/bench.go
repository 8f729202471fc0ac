package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/geoip"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/loadtest"
	"github.com/doorman/doorman/useragent"
)

// cmdBench is `doorman bench`: the flags of a loadtest run, and its
// in-process nodes wired as serve wires a server.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	var c loadtest.Config
	var logFormat, logLevel string
	fs.StringVar(&c.URL, "url", "", "a running Doorman to load (default: Doorman in this process, on a temporary SQLite file or on --db)")
	fs.StringVar(&c.DB, "db", "", "a postgres:// URL to run the in-process Doorman on, in a fresh schema dropped at the end (default: a temporary SQLite file); taken from the command line only, never from DOORMAN_DB, so that bench cannot load a database by accident")
	fs.IntVar(&c.Nodes, "nodes", 1, "in-process Doorman servers on the same store; the load is spread over them")
	fs.StringVar(&logFormat, "log-format", "text", "in-process: log format, as serve's (text or json); the servers' log goes to a temporary file")
	fs.StringVar(&logLevel, "log-level", "info", "in-process: log level, as serve's; info has the access log on, as serve has by default")
	fs.StringVar(&c.Email, "email", "admin@company.com", "with --url: the user to sign in as")
	fs.StringVar(&c.Password, "password", "", "with --url: that user's password")
	fs.IntVar(&c.Users, "users", 16, "sessions to sign in (in-process: one user each); requests rotate over them")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "concurrent keep-alive connections")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long each load runs")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "unmeasured load before each run")
	fs.StringVar(&c.Mode, "mode", "whoami", "whoami: GET /api/v1/whoami with session tokens; apikey: the same with API keys (Bearer dk_…)")
	fs.StringVar(&c.Key, "key", "", "with --url --mode apikey: an API key to use (default: sign in as --email, an admin, and create --users keys)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dbGiven := false
	fs.Visit(func(f *flag.Flag) { dbGiven = dbGiven || f.Name == "db" }) // Visit sees the command line, not DOORMAN_*
	if !dbGiven {
		c.DB = ""
	}
	if err := c.Validate(); err != nil {
		return err
	}
	log, err := newLogger(io.Discard, logFormat, logLevel)
	if err != nil {
		return err
	}
	access := "access log on"
	if !log.Enabled(ctx, slog.LevelInfo) {
		access = "access log off"
	}
	c.ServerLog = fmt.Sprintf("level %s (%s), %s format", logLevel, access, logFormat)
	start := func(ctx context.Context, db string, logw io.Writer) (*loadtest.Node, error) {
		return startBenchNode(ctx, db, logFormat, logLevel, logw)
	}
	return loadtest.Run(ctx, c, start, stdout, stderr)
}

// startBenchNode runs one Doorman server on db, on a loopback port, as
// serve would: device and place tracking on (places only if installed),
// the log as serve's with --log-format and --log-level, written to logw.
func startBenchNode(ctx context.Context, db, logFormat, logLevel string, logw io.Writer) (*loadtest.Node, error) {
	log, err := newLogger(logw, logFormat, logLevel)
	if err != nil {
		return nil, err
	}
	access, err := newAccessLog(logw, logFormat, logLevel)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, db)
	if err != nil {
		return nil, err
	}
	svc := app.NewService(store, argon2id.New())
	svc.Log = log
	if svc.Devices, err = useragent.New(); err != nil {
		store.Close()
		return nil, err
	}
	places, err := geoip.Open(defaultGeoIPDir, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	svc.Places = places
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		places.Close()
		return nil, err
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
	return &loadtest.Node{URL: base.String(), Service: svc, Stop: stop}, nil
}
