package demo_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/demo"
	"github.com/doorman/doorman/internal/testdb"
)

// The demo's data holds nothing that the first purge, run as a server starts
// with its default retention of a week, would delete at once: a first start
// logs no purge, and the admin's past session, which makes the guide's
// browser a known device, is still there.
func TestSeedSurvivesFirstPurge(t *testing.T) {
	ctx := context.Background()
	svc := app.NewService(testdb.SQLite(t), argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	svc.Log = slog.New(slog.DiscardHandler)
	seeded, err := demo.Seed(ctx, svc, "demo-password-1")
	if err != nil || !seeded {
		t.Fatalf("Seed = %v, %v", seeded, err)
	}
	n, err := svc.Purge(ctx, 7*24*time.Hour, 500) // doorman serve's default --retention
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the first purge after seeding deleted %d sessions, want 0", n)
	}
	if seeded, err := demo.Seed(ctx, svc, "other-password-1"); err != nil || seeded {
		t.Fatalf("second Seed = %v, %v; want the team left as it is", seeded, err)
	}
}
