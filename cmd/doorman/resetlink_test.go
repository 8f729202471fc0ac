package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/sqlite"
)

// TestUserResetLink: an operator prints a reset link for a person, audited;
// the link sets the password once, as an emailed one would.
func TestUserResetLink(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "d.db")
	if out, err := runCmd(t, "s3cret-password\n", "user", "create", "--db", db, "--account", "Acme", "--email", "ann@acme.test"); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"user", "reset-link", "--db", db, "--account", "Acme", "--email", "ann@acme.test"},
		{"user", "reset-link", "--db", db, "--account", "Acme", "--email", "ann@acme.test", "--base-url", "doorman.example.com"},
		{"user", "reset-link", "--db", db, "--account", "Acme", "--email", "bob@acme.test", "--base-url", "https://doorman.example.com"},
		{"user", "reset-link", "--db", db, "--account", "Globex", "--email", "ann@acme.test", "--base-url", "https://doorman.example.com"},
		{"user", "reset-link", "--db", db, "--email", "ann@acme.test", "--base-url", "https://doorman.example.com"},
	} {
		if out, err := runCmd(t, "", args...); err == nil {
			t.Errorf("%v succeeded:\n%s", args, out)
		}
	}
	out, err := runCmd(t, "", "user", "reset-link", "--db", db, "--account", "Acme", "--email", "Ann@Acme.test", "--base-url", "https://doorman.example.com/")
	if err != nil {
		t.Fatalf("reset-link: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`https://doorman\.example\.com/password/reset/([A-Za-z0-9_-]{43})\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "valid 30 minutes") || !strings.Contains(out, "channel you trust") {
		t.Fatalf("reset-link printed:\n%s", out)
	}

	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := app.NewService(store, argon2id.New())
	if err := svc.ResetPassword(ctx, m[1], "a brand new passphrase", app.Meta{}); err != nil {
		t.Fatalf("ResetPassword with the printed link: %v", err)
	}
	if err := svc.ResetPassword(ctx, m[1], "another new passphrase", app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
		t.Errorf("second use: %v, want EINVALID", err)
	}
	if _, _, err := svc.SignIn(ctx, app.SignInRequest{Email: "ann@acme.test", Password: "a brand new passphrase"}); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	evs, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{Action: doorman.ActionPasswordResetRequested})
	if err != nil || len(evs) != 1 || evs[0].Actor != doorman.ActorSystem || !strings.Contains(evs[0].Details, "via=operator") {
		t.Errorf("password_reset_requested events: %+v %v", evs, err)
	}
}
