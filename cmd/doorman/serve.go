package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/aesgcm"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/demo"
	"github.com/doorman/doorman/geoip"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/passkey"
	"github.com/doorman/doorman/totp"
	"github.com/doorman/doorman/useragent"
)

// serveConfig is everything `doorman serve` reads from flags or DOORMAN_*.
type serveConfig struct {
	addr, db, baseURL, trustedProxies string
	cookieDomain, redirectHosts       string
	logFormat, logLevel               string
	geoipDir                          string
	secretKey                         string
	demo                              bool
	demoPassword                      string
	absoluteCap, retention            durationFlag
	auditRetention                    durationFlag
	purgeInterval                     time.Duration
	storeTimeout                      time.Duration
	boundCookieTTL                    time.Duration
}

// gcPercent is serve's garbage collector target when GOGC is not set. The
// server's live heap is small (its caches) and nearly all it allocates is
// garbage within one request, so Go's default (100) runs a collection every
// few megabytes of requests; 400 spends about a quarter of that CPU on
// collections for a few tens of megabytes more memory.
const gcPercent = 400

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	fs := newFlags("serve", stderr)
	var c serveConfig
	c.absoluteCap = durationFlag(doorman.DefaultAbsoluteCap)
	c.retention = durationFlag(7 * 24 * time.Hour)
	c.auditRetention = durationFlag(365 * 24 * time.Hour)
	fs.StringVar(&c.addr, "addr", "localhost:8080", "address to listen on")
	db := dbFlag(fs)
	fs.StringVar(&c.baseURL, "base-url", "", "public URL of this server (default http://ADDR); https:// makes cookies Secure and __Host- prefixed")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated networks whose X-Forwarded-For is believed (default none: the connection's address is the client's)")
	fs.StringVar(&c.cookieDomain, "cookie-domain", "", "domain (e.g. example.com) whose subdomains all share the sign-in: the session cookie gets Domain=example.com and, over HTTPS, the __Secure- prefix; the base URL's host must be inside it (default: the cookie belongs to the base URL's host alone)")
	fs.StringVar(&c.redirectHosts, "allowed-redirect-hosts", "", "comma-separated hosts (app.example.com, app.example.com:8443, *.example.com) where an absolute next may send the browser after sign-in (default none: only paths on this server)")
	fs.StringVar(&c.geoipDir, "geoip-dir", defaultGeoIPDir, "folder of the IP geolocation databases (see: doorman geoip install); without them places read \"Unknown location\"")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.secretKey, "secret-key", "", "base64 of 32 random bytes (openssl rand -base64 32) sealing stored TOTP and webhook secrets with AES-256-GCM; prefer DOORMAN_SECRET_KEY (flags show in the process list). Without it they are stored as they are; once set, keep it: secrets sealed with it cannot be read without it")
	fs.BoolVar(&c.demo, "demo", false, "seed the user guide's demo team on first start")
	fs.StringVar(&c.demoPassword, "demo-password", "", "password of every demo user (default: generated and printed)")
	fs.Var(&c.absoluteCap, "absolute-cap", "longest life of a session that is not remembered, from sign-in (e.g. 30d, 12h; 0 = no cap)")
	fs.Var(&c.retention, "retention", "how long revoked and expired sessions are kept before they are purged")
	fs.Var(&c.auditRetention, "audit-retention", "how long audit events are kept before they are purged by age (0 = keep forever)")
	fs.DurationVar(&c.purgeInterval, "purge-interval", time.Hour, "how often the purge job runs")
	fs.DurationVar(&c.boundCookieTTL, "bound-cookie-ttl", doorman.DefaultBoundCookieTTL, "how long the short-lived cookie of a session bound to its device (DBSC) lasts: how long a stolen cookie works without the device key, and how often a bound browser signs a proof")
	fs.DurationVar(&c.storeTimeout, "store-timeout", app.DefaultStoreTimeout, "longest a database call may take: past it the request is answered 503 (unavailable) and /readyz fails, instead of waiting for TCP to give up")
	alerts := addAlertFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.db = *db
	log, err := newLogger(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	access, err := newAccessLog(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	if access != nil {
		defer access.Close()
	}
	if c.storeTimeout <= 0 {
		return fmt.Errorf("--store-timeout %s: want a positive duration (e.g. 2s)", c.storeTimeout)
	}
	if c.boundCookieTTL < time.Minute || c.boundCookieTTL > 24*time.Hour {
		return fmt.Errorf("--bound-cookie-ttl %s: want between 1m and 24h (default 10m)", c.boundCookieTTL)
	}
	var base *url.URL
	if c.baseURL != "" {
		base, err = url.Parse(c.baseURL)
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			return fmt.Errorf("--base-url %q must be an absolute http:// or https:// URL", c.baseURL)
		}
	}
	proxies, err := doormanhttp.ParseTrustedProxies(c.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	redirectHosts, err := doormanhttp.ParseRedirectHosts(c.redirectHosts)
	if err != nil {
		return fmt.Errorf("--allowed-redirect-hosts: %w", err)
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if base == nil {
		base = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	}
	if c.cookieDomain != "" {
		if err := doormanhttp.CheckCookieDomain(base, c.cookieDomain); err != nil {
			return fmt.Errorf("--cookie-domain: %w", err)
		}
	}

	raw, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer raw.Close()
	// Every store call from here on is bounded, and an outage is logged in
	// a few lines rather than one per request.
	outages := &app.OutageLog{Log: log}
	store := app.WithDeadline(raw, c.storeTimeout, outages)
	svc := app.NewService(store, argon2id.New())
	svc.Log = log
	svc.BoundCookieTTL = c.boundCookieTTL
	svc.Policy.AbsoluteCap = time.Duration(c.absoluteCap)
	if svc.Devices, err = useragent.New(); err != nil {
		return fmt.Errorf("user-agent parser: %w", err)
	}
	places, err := geoip.Open(c.geoipDir, log)
	if err != nil {
		return fmt.Errorf("--geoip-dir: %w", err)
	}
	defer places.Close()
	svc.Places = places
	if err := alerts.wire(svc, base, log); err != nil {
		return err
	}
	svc.OTP = totp.OTP{}
	if rp, err := passkey.New(base, "Doorman"); err != nil {
		// Passkeys are bound to the base URL's host; without a usable one
		// Doorman runs without them rather than not at all.
		log.Warn("passkeys are off", "err", err)
	} else {
		svc.WebAuthn = rp
	}
	if c.secretKey != "" {
		key, err := aesgcm.ParseKey(c.secretKey)
		if err != nil {
			return fmt.Errorf("--secret-key: %w", err)
		}
		if svc.Secrets, err = aesgcm.New(key); err != nil {
			return fmt.Errorf("--secret-key: %w", err)
		}
	} else {
		log.Warn("no --secret-key: TOTP and webhook secrets are stored unsealed (see docs/SECURITY.md)")
	}

	if c.demo {
		pw := c.demoPassword
		generated := pw == ""
		if generated {
			pw = randomPassword()
		}
		seeded, err := demo.Seed(ctx, svc, pw)
		if err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
		switch {
		case seeded && generated:
			fmt.Fprintf(stdout, "Demo team seeded. Sign in as admin@company.com with password %s\n", pw)
		case seeded:
			fmt.Fprintln(stdout, "Demo team seeded. Sign in as admin@company.com with the demo password.")
		default:
			fmt.Fprintln(stdout, "Demo team already present; its users keep the password they were seeded with.")
		}
		if seeded && generated || !seeded {
			// The generated password is printed once; say how to have a
			// known one again without starting over.
			fmt.Fprintf(stdout, "To set a password you choose: printf '%%s\\n' 'a new password' | %s user set-password --db %s --account %s --email admin@company.com\n",
				selfCommand(), shellQuote(c.db), demo.Account)
		}
	}

	srv := newHTTPServer(svc, doormanhttp.Config{BaseURL: base, TrustedProxies: proxies, Logger: log,
		CookieDomain: c.cookieDomain, AllowedRedirectHosts: redirectHosts, AccessLog: access, ActiveSessions: svc.CountLiveSessions, StoreFailures: outages.Failures})
	fmt.Fprintf(stdout, "Doorman listening on %s (store %s)\n", base, describeDB(c.db))

	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	go svc.RunFlusher(bg, 15*time.Second)
	go svc.RunAlerts(bg, 10*time.Second)
	go runAlertPurge(bg, svc, log, c.purgeInterval)
	go places.Watch(bg, 30*time.Second) // a new `geoip install` is picked up without a restart
	go runPurge(bg, svc, log, time.Duration(c.retention), time.Duration(c.auditRetention), c.purgeInterval)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	svc.WaitBackground() // reset requests already answered are written before the store closes
	if access != nil {
		access.Close() // the last requests' lines, before the lines that follow
	}
	stopBG()
	if err := svc.Flush(sctx); err != nil {
		log.Error("flush activity at shutdown", "err", err)
		return err
	}
	log.Info("stopped; pending activity flushed")
	return nil
}

// newHTTPServer wraps Doorman's handler in a net/http server with limits on
// slow clients and header size.
func newHTTPServer(svc *app.Service, cfg doormanhttp.Config) *http.Server {
	return &http.Server{
		Handler: doormanhttp.NewServer(svc, cfg).Handler(),
		// A request, headers and body, is read within 10 s: its bodies are
		// small forms and JSON. One deadline for both also spares every
		// request a second deadline change on its connection.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10, // 32 KiB: a session cookie and a User-Agent fit many times over
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
}

// runPurge deletes long-revoked and expired sessions, audit events older
// than auditRetention (none when it is 0), API keys' hourly counts older
// than app.APIKeyUsageRetention, the sign-in limits' buckets that are
// full again and the expired claims of one-time form tokens (with the
// pages kept past doorman.FormReplayWindow), every interval, in bounded
// batches so that it never holds the store for long.
func runPurge(ctx context.Context, svc *app.Service, log *slog.Logger, retention, auditRetention, interval time.Duration) {
	if interval <= 0 {
		return
	}
	jobs := []struct {
		what string
		run  func() (int, error)
	}{
		{"sessions", func() (int, error) { return svc.Purge(ctx, retention, 500) }},
		{"audit events", func() (int, error) { return svc.PurgeAudit(ctx, auditRetention, 500) }},
		{"api key usage", func() (int, error) { return svc.PurgeAPIKeyUsage(ctx, 500) }},
		{"sign-in limits", func() (int, error) { return svc.PurgeSignInLimits(ctx, 500) }},
		{"form tokens", func() (int, error) { return svc.PurgeFormTokens(ctx, 500) }},
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, j := range jobs {
			n, err := j.run()
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("purge "+j.what, "err", err)
			case n > 0:
				log.Info("purged "+j.what, "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// newAccessLog returns the access log for --log-format and --log-level,
// writing to w beside the other log lines: nil when the level is above
// info, where the access log is off. Its lines are buffered for up to
// 200 ms (see doormanhttp.AccessLog), so a crash loses at most the lines of
// the last 200 ms; close it at shutdown.
func newAccessLog(w io.Writer, format, level string) (*doormanhttp.AccessLog, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	if lv > slog.LevelInfo {
		return nil, nil
	}
	a, err := doormanhttp.NewAccessLog(w, format)
	if err != nil {
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
	return a, nil
}

func randomPassword() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// describeDB names the store without any password in a URL.
func describeDB(db string) string {
	if u, err := url.Parse(db); err == nil && u.Scheme != "" && u.Host != "" {
		u.User = nil
		u.RawQuery = ""
		return "PostgreSQL " + u.String()
	}
	return "SQLite " + db
}

// durationFlag is a duration that also accepts whole days ("30d").
type durationFlag time.Duration

func (d *durationFlag) String() string { return formatDuration(time.Duration(*d)) }

func (d *durationFlag) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationFlag(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	var days int
	if n, err := fmt.Sscanf(s, "%dd", &days); err == nil && n == 1 && fmt.Sprintf("%dd", days) == s {
		if days < 0 {
			return 0, errors.New("duration must not be negative")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use 30d, 12h, 90m)", s)
	}
	if v < 0 {
		return 0, errors.New("duration must not be negative")
	}
	return v, nil
}

func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
