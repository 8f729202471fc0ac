package http

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/doorman/doorman/app"
)

// durationBuckets are the upper bounds, in seconds, of
// doorman_http_request_duration_seconds.
var durationBuckets = [...]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// bucketBounds are durationBuckets as durations, for the hot path.
var bucketBounds = func() (b [len(durationBuckets)]time.Duration) {
	for i, s := range durationBuckets {
		b[i] = time.Duration(s * float64(time.Second))
	}
	return b
}()

// routeMetrics are one route's counters. Every route's are allocated at
// start, so recording a request is a few atomic adds and no allocation.
type routeMetrics struct {
	pattern string
	codes   [600]atomic.Uint64 // requests by status code
	// buckets[i] counts durations in (bound[i-1], bound[i]]; the last one
	// those above every bound. The histogram's cumulative counts are summed
	// at scrape time.
	buckets  [len(durationBuckets) + 1]atomic.Uint64
	sumNanos atomic.Uint64
}

func (m *routeMetrics) observe(status int, d time.Duration) {
	if status < 0 || status >= len(m.codes) {
		status = 0
	}
	m.codes[status].Add(1)
	i := 0
	for i < len(bucketBounds) && d > bucketBounds[i] {
		i++
	}
	m.buckets[i].Add(1)
	if d > 0 {
		m.sumNanos.Add(uint64(d))
	}
}

// Outcomes of session validations.
const (
	outcomeValid = iota
	outcomeInvalid
	outcomeUnavailable
)

var outcomeNames = [...]string{"valid", "invalid", "unavailable"}

type metrics struct {
	byPattern   map[string]*routeMetrics
	order       []*routeMetrics
	validations [len(outcomeNames)]atomic.Uint64
}

func newMetrics(patterns []string) *metrics {
	m := &metrics{byPattern: make(map[string]*routeMetrics, len(patterns))}
	for _, p := range patterns {
		rm := &routeMetrics{pattern: p}
		m.byPattern[p] = rm
		m.order = append(m.order, rm)
	}
	return m
}

func (m *metrics) route(pattern string) *routeMetrics { return m.byPattern[pattern] }

func (m *metrics) validation(outcome int) { m.validations[outcome].Add(1) }

// activeSessionsTimeout bounds the count behind the gauge.
const activeSessionsTimeout = 5 * time.Second

// metricsHandler is GET /metrics in the Prometheus text format. Route labels
// are ServeMux patterns, never raw paths, so that the number of series is
// fixed.
func (s *Server) metricsHandler(w *request, r *http.Request) error {
	var b bytes.Buffer
	m := s.metrics

	b.WriteString("# HELP doorman_http_requests_total HTTP requests answered, by route pattern and status code.\n")
	b.WriteString("# TYPE doorman_http_requests_total counter\n")
	for _, rm := range m.order {
		for code := range rm.codes {
			n := rm.codes[code].Load()
			if n == 0 {
				continue
			}
			b.WriteString(`doorman_http_requests_total{route="`)
			writeLabel(&b, rm.pattern)
			b.WriteString(`",code="`)
			b.WriteString(strconv.Itoa(code))
			b.WriteString(`"} `)
			b.WriteString(strconv.FormatUint(n, 10))
			b.WriteByte('\n')
		}
	}

	b.WriteString("# HELP doorman_http_request_duration_seconds Time to answer HTTP requests, by route pattern.\n")
	b.WriteString("# TYPE doorman_http_request_duration_seconds histogram\n")
	for _, rm := range m.order {
		var cum uint64
		for i := range rm.buckets {
			cum += rm.buckets[i].Load()
			le := "+Inf"
			if i < len(durationBuckets) {
				le = strconv.FormatFloat(durationBuckets[i], 'g', -1, 64)
			}
			b.WriteString(`doorman_http_request_duration_seconds_bucket{route="`)
			writeLabel(&b, rm.pattern)
			b.WriteString(`",le="`)
			b.WriteString(le)
			b.WriteString(`"} `)
			b.WriteString(strconv.FormatUint(cum, 10))
			b.WriteByte('\n')
		}
		b.WriteString(`doorman_http_request_duration_seconds_sum{route="`)
		writeLabel(&b, rm.pattern)
		b.WriteString(`"} `)
		b.WriteString(strconv.FormatFloat(float64(rm.sumNanos.Load())/1e9, 'g', -1, 64))
		b.WriteByte('\n')
		b.WriteString(`doorman_http_request_duration_seconds_count{route="`)
		writeLabel(&b, rm.pattern)
		b.WriteString(`"} `)
		b.WriteString(strconv.FormatUint(cum, 10))
		b.WriteByte('\n')
	}

	b.WriteString("# HELP doorman_session_validations_total Session checks of requests, by outcome.\n")
	b.WriteString("# TYPE doorman_session_validations_total counter\n")
	for i, name := range outcomeNames {
		b.WriteString(`doorman_session_validations_total{outcome="`)
		b.WriteString(name)
		b.WriteString(`"} `)
		b.WriteString(strconv.FormatUint(m.validations[i].Load(), 10))
		b.WriteByte('\n')
	}

	if failures := s.cfg.StoreFailures; failures != nil {
		b.WriteString("# HELP doorman_store_failures_total Store calls that failed: timed out, refused, reset.\n")
		b.WriteString("# TYPE doorman_store_failures_total counter\n")
		b.WriteString("doorman_store_failures_total ")
		b.WriteString(strconv.FormatUint(failures(), 10))
		b.WriteByte('\n')
	}

	if count := s.cfg.ActiveSessions; count != nil {
		ctx, cancel := context.WithTimeout(r.Context(), activeSessionsTimeout)
		n, err := count(ctx)
		cancel()
		if err != nil {
			// Leave the gauge out rather than report a wrong number.
			level := slog.LevelWarn
			if app.IsUnavailable(err) {
				level = slog.LevelDebug // the store's OutageLog has it
			}
			s.log.LogAttrs(r.Context(), level, "count active sessions for metrics",
				slog.String("request_id", w.id), slog.Any("err", err))
		} else {
			b.WriteString("# HELP doorman_active_sessions Sessions neither revoked nor past their absolute end.\n")
			b.WriteString("# TYPE doorman_active_sessions gauge\n")
			b.WriteString("doorman_active_sessions ")
			b.WriteString(strconv.Itoa(n))
			b.WriteByte('\n')
		}
	}

	h := w.Header()
	h["Content-Type"] = []string{"text/plain; version=0.0.4; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(b.Len())}
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
	return nil
}

// labelEscaper escapes a label value as the text format requires.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func writeLabel(b *bytes.Buffer, v string) { labelEscaper.WriteString(b, v) }
