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
	"github.com/doorman/doorman/internal/smtptest"
	"github.com/doorman/doorman/sqlite"
)

var cliInviteRE = regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`)

// TestUserCommands runs the operators' user commands against one database
// file, as a server beside them would see it, and checks each is audited as
// the system actor with its reason.
func TestUserCommands(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "d.db")
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := runCmd(t, stdin, append(args[:1:1], append([]string{args[1], "--db", db}, args[2:]...)...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, err := runCmd(t, "", append(args[:1:1], append([]string{args[1], "--db", db}, args[2:]...)...)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v: %v, want an error saying %q\n%s", args, err, want, out)
		}
	}
	// Nothing on standard input is a mistake said as such, not a short password.
	fails("no password on standard input", "user", "create", "--account", "Acme", "--email", "ann@acme.test", "--role", "admin")
	must("s3cret-password\n", "user", "create", "--account", "Acme", "--email", "ann@acme.test", "--role", "admin")

	// Without SMTP the link is printed to hand over.
	out := must("", "user", "invite", "--account", "Acme", "--email", "Bob@Acme.test", "--base-url", "https://doorman.example.com")
	if !strings.Contains(out, "Invited bob@acme.test as member") || !strings.Contains(out, "https://doorman.example.com/invite/") ||
		!strings.Contains(out, "hand this link over yourself") {
		t.Fatalf("invite without SMTP:\n%s", out)
	}
	fails("already has a user", "user", "invite", "--account", "Acme", "--email", "bob@acme.test")
	token := cliInviteRE.FindStringSubmatch(out)[1]

	// With SMTP, the invitation is emailed through the server.
	mailSrv := smtptest.Start(t)
	out = must("", "user", "invite", "--account", "Acme", "--email", "cy@acme.test", "--base-url", "https://doorman.example.com",
		"--smtp-addr", mailSrv.Addr, "--smtp-from", "Doorman <doorman@acme.test>")
	if msgs := mailSrv.Messages(); len(msgs) != 1 || msgs[0].To[0] != "cy@acme.test" || !strings.Contains(out, "was emailed") {
		t.Fatalf("invite with SMTP: %d messages\n%s", len(mailSrv.Messages()), out)
	}
	fails("--base-url is required", "user", "invite", "--account", "Acme", "--email", "dee@acme.test", "--smtp-addr", mailSrv.Addr)

	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := app.NewService(store, argon2id.New())
	if _, _, err := svc.AcceptInvitation(ctx, app.AcceptRequest{Token: token, Name: "Bob", Password: "s3cret-password"}); err != nil {
		t.Fatalf("accept: %v", err)
	}

	out = must("", "user", "list", "--account", "Acme")
	for _, want := range []string{"ann@acme.test", "bob@acme.test  Bob", "active", "cy@acme.test", "invited"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list lacks %q:\n%s", want, out)
		}
	}

	must("", "user", "set-role", "--account", "Acme", "--email", "bob@acme.test", "--role", "admin")
	fails("reason is required", "user", "set-role", "--account", "Acme", "--email", "ann@acme.test", "--role", "member")
	fails("reason is required", "user", "disable", "--account", "Acme", "--email", "bob@acme.test")

	tok := signIn(t, db, "bob@acme.test")
	out = must("", "user", "disable", "--account", "Acme", "--email", "bob@acme.test", "--reason", "on leave")
	if !strings.Contains(out, "Disabled bob@acme.test") {
		t.Errorf("disable:\n%s", out)
	}
	if err := authenticate(t, db, tok); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
		t.Fatalf("the disabled user's session: %v, want EUNAUTHORIZED", err)
	}
	fails("last active administrator", "user", "disable", "--account", "Acme", "--email", "ann@acme.test", "--reason", "x")
	must("", "user", "enable", "--account", "Acme", "--email", "bob@acme.test")

	tok = signIn(t, db, "bob@acme.test")
	fails("no password on standard input", "user", "set-password", "--account", "Acme", "--email", "bob@acme.test")
	out = must("a whole new password\n", "user", "set-password", "--account", "Acme", "--email", "bob@acme.test")
	if !strings.Contains(out, "1 session ended") {
		t.Errorf("set-password:\n%s", out)
	}
	if err := authenticate(t, db, tok); err == nil {
		t.Fatal("a session survived set-password")
	}
	if _, _, err := svc.SignIn(ctx, app.SignInRequest{Email: "bob@acme.test", Password: "a whole new password"}); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}
	if _, err := runCmd(t, "a whole new password\n", "user", "set-password", "--db", db, "--account", "Acme", "--email", "cy@acme.test"); err == nil ||
		!strings.Contains(err.Error(), "has not accepted") {
		t.Errorf("set-password of an invited user: %v", err)
	}
	fails("no account", "user", "list", "--account", "Nope")

	acct, _ := store.FindAccountByName(ctx, "Acme")
	evs, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: acct.ID, Actor: doorman.ActorSystem})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ev := range evs {
		got[ev.Action+" "+ev.Target] = ev.Reason
	}
	for key, reason := range map[string]string{
		"user_invited bob@acme.test":      "",
		"user_role_changed bob@acme.test": "",
		"user_disabled bob@acme.test":     "on leave",
		"user_enabled bob@acme.test":      "",
		"password_changed bob@acme.test":  "password set by an operator",
	} {
		if r, ok := got[key]; !ok || r != reason {
			t.Errorf("audit %s by system: reason %q, found %t; want %q", key, r, ok, reason)
		}
	}
}
