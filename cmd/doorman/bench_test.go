package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman/internal/testdb"
)

// shortBench is a bench run of a fraction of a second: enough to see it
// work, never to measure anything.
var shortBench = []string{"bench", "--duration", "200ms", "--warmup", "50ms", "--users", "2", "--concurrency", "4"}

var ratioLine = regexp.MustCompile(`(?m)^ratio: [0-9]+\.[0-9]{2} \(whoami [0-9]+ req/s p50 \S+ p99 \S+; bare [0-9]+ req/s\)$`)

func TestBenchSQLite(t *testing.T) {
	// bench never takes its store from the environment: this would be a
	// real database's file.
	t.Setenv("DOORMAN_DB", t.TempDir()+"/not-for-bench.db")
	out, err := runCmd(t, "", shortBench...)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SQLite store (temporary file)") || !strings.Contains(out, "access log on") {
		t.Errorf("bench did not run on a temporary SQLite file with the access log on:\n%s", out)
	}
	if !ratioLine.MatchString(out) {
		t.Errorf("no ratio in:\n%s", out)
	}
}

// Two nodes on one PostgreSQL database, in a schema of bench's own that is
// gone afterwards; the schema the DSN names is left as it was.
func TestBenchPostgresTwoNodes(t *testing.T) {
	dsn := testdb.PostgresDSN(t) // its search_path: an empty schema bench must not touch
	out, err := runCmd(t, "", append(shortBench, "--db", dsn, "--nodes", "2")...)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	if !strings.Contains(out, "2 in-process Doorman nodes on ") || !ratioLine.MatchString(out) {
		t.Errorf("no two-node run with a ratio in:\n%s", out)
	}
	m := regexp.MustCompile(`schema (doorman_bench_[0-9a-f]+) \(dropped at the end\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no schema named in:\n%s", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var schemas, tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, m[1]).Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Errorf("schema %s is still there", m[1])
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("bench created %d tables in the DSN's own schema", tables)
	}
}

func TestBenchRefusesUnsafeFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--db", t.TempDir() + "/doorman.db"}, // a SQLite file of the user's
		{"--url", "http://127.0.0.1:1", "--nodes", "2"},
		{"--url", "http://127.0.0.1:1", "--db", "postgres://127.0.0.1/x"},
		{"--nodes", "0"},
		{"--log-level", "loud"},
	} {
		if out, err := runCmd(t, "", append(shortBench, args...)...); err == nil || ratioLine.MatchString(out) {
			t.Errorf("bench %v ran:\n%s", args, out)
		}
	}
}

// serve writes the access log beside its other lines on stderr, at the
// default level, and writes the last requests' lines before it stops.
func TestServeAccessLog(t *testing.T) {
	db := t.TempDir() + "/serve.db"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--log-format", "json"},
			strings.NewReader(""), out, logs)
	}()
	addr := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for i := 0; base == ""; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s%s", err, out, logs)
		default:
		}
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		if i > 600 {
			t.Fatalf("serve did not start:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond) // waiting for a process to start, not for time to pass
	}
	resp, err := http.Get(base + "/healthz?token=secret-in-query")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	text := logs.String()
	want := `"msg":"request","method":"GET","path":"/healthz","route":"GET /healthz","status":200,`
	at := strings.Index(text, want)
	if at < 0 || !strings.Contains(text[at:], `"request_id":"`+id+`"`) {
		t.Fatalf("no access line for request %s:\n%s", id, text)
	}
	if stopped := strings.Index(text, "stopped"); stopped < at {
		t.Errorf("the access line comes after the last line of shutdown:\n%s", text)
	}
	if strings.Contains(text, "secret-in-query") {
		t.Errorf("the query was logged:\n%s", text)
	}
}
