package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
)

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	db := dbFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "%s is migrated to the latest schema.\n", describeDB(*db))
	return nil
}

func cmdUserCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("user create", stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "account (team) name; created if missing")
	email := fs.String("email", "", "the user's email")
	name := fs.String("name", "", "the user's display name")
	role := fs.String("role", "member", "admin or member")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*account) == "" || *email == "" {
		return errors.New("--account and --email are required")
	}
	if !doorman.Role(*role).Valid() {
		return fmt.Errorf("--role %q: want admin or member", *role)
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := app.NewService(store, argon2id.New())
	u, err := svc.CreateUser(ctx, *account, *email, *name, doorman.Role(*role), pw)
	if err != nil {
		return userMessage(err)
	}
	fmt.Fprintf(stdout, "Created %s %s (%s) in account %q.\n", u.Role, u.Email, u.ID, strings.TrimSpace(*account))
	return nil
}

// readPassword asks twice on a terminal; otherwise it reads one line.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Repeat password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords do not match")
		}
		return string(a), userMessage(doorman.ValidatePassword(string(a)))
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, doorman.MaxPasswordLength+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	if line == "" {
		return "", errors.New("no password on standard input: expected the password as one line, e.g. printf '%s\\n' 'the password' | doorman …, or run the command in a terminal to be asked for it")
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := doorman.ValidatePassword(pw); err != nil {
		return "", userMessage(err)
	}
	return pw, nil
}

func cmdSessionsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sessions list", stderr)
	db := dbFlag(fs)
	email := fs.String("email", "", "the user whose sessions to list")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := app.NewService(store, argon2id.New())
	users, sessions, err := svc.OperatorSessions(ctx, *email)
	if err != nil {
		return userMessage(err)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tUSER\tDEVICE\tLOCATION\tIP\tLAST ACTIVE\tCREATED")
	for _, u := range users {
		for _, s := range sessions[u.ID] {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, u.Email, s.Device.Label(), s.Location.Label(), s.IP,
				doorman.RelativeTime(now, s.LastActiveAt), s.CreatedAt.Format(time.RFC3339))
		}
	}
	return tw.Flush()
}

func cmdSessionsRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sessions revoke", stderr)
	db := dbFlag(fs)
	reason := fs.String("reason", "", "why the sessions are signed out (required; recorded in the audit log)")
	email := fs.String("email", "", "sign out every session of the user with this email, in every account it exists in")
	// Accept the id before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if (id == "") == (*email == "") {
		return errors.New("usage: doorman sessions revoke SESSION_ID --reason REASON | doorman sessions revoke --email EMAIL --reason REASON")
	}
	// Checked before the store is opened: a missing reason changes nothing.
	if _, err := app.ValidateReason(*reason); err != nil {
		return errors.New("--reason is required: it is recorded in the audit log")
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := app.NewService(store, argon2id.New())
	if *email != "" {
		return revokeByEmail(ctx, svc, *email, *reason, stdout)
	}
	if err := svc.OperatorRevokeSession(ctx, id, *reason); err != nil {
		return userMessage(err)
	}
	fmt.Fprintf(stdout, "Signed out %s. Its next request is refused.\n", id)
	return nil
}

// revokeByEmail signs out every session of a user, in each account the
// email exists in, and says how many per account.
func revokeByEmail(ctx context.Context, svc *app.Service, email, reason string, stdout io.Writer) error {
	users, counts, err := svc.OperatorForceSignOut(ctx, email, reason)
	// Report what was done also when a later account failed.
	for _, u := range users {
		n, done := counts[u.ID]
		if !done {
			continue
		}
		name := u.AccountID
		if a, err := svc.Store.FindAccountByID(ctx, u.AccountID); err == nil {
			name = a.Name
		}
		fmt.Fprintf(stdout, "Signed out %s in account %q: %s. Their next request is refused.\n",
			u.Email, name, plural(n, "active session"))
	}
	return userMessage(err)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// cmdUserReset2FA turns two-factor authentication off for a user who lost
// their authenticator and recovery codes.
func cmdUserReset2FA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user reset-2fa", stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "the user's account (team) name")
	email := fs.String("email", "", "the user's email")
	reason := fs.String("reason", "", "why (required; recorded in the audit log)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || *email == "" {
		return errors.New("usage: doorman user reset-2fa --account NAME --email EMAIL --reason REASON")
	}
	if _, err := app.ValidateReason(*reason); err != nil {
		return errors.New("--reason is required: it is recorded in the audit log")
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := app.NewService(store, argon2id.New()).OperatorResetTwoFactor(ctx, *account, *email, *reason)
	if err != nil {
		return userMessage(err)
	}
	fmt.Fprintf(stdout, "Two-factor authentication is off for %s. They sign in with their password and may set it up again.\n", u.Email)
	return nil
}

// cmdUserResetLink prints a password reset link for an operator to hand
// over, for servers that send no email or people who cannot read it.
func cmdUserResetLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user reset-link", stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "the user's account (team) name")
	email := fs.String("email", "", "the user's email")
	baseURL := fs.String("base-url", "", "public URL of the server, which the link starts with (as serve's --base-url)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || *email == "" {
		return errors.New("usage: doorman user reset-link --account NAME --email EMAIL --base-url URL")
	}
	base, err := url.Parse(*baseURL)
	if *baseURL == "" || err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return errors.New("--base-url is required (an absolute http:// or https:// URL): the link starts with the server's public URL")
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	token, u, err := app.NewService(store, argon2id.New()).OperatorPasswordResetLink(ctx, *account, *email)
	if err != nil {
		return userMessage(err)
	}
	fmt.Fprintf(stdout, "Password reset link for %s (account %s), valid %d minutes, once:\n\n    %s/password/reset/%s\n\n",
		u.Email, *account, int(doorman.PasswordResetTTL.Minutes()), strings.TrimRight(base.String(), "/"), token)
	fmt.Fprintln(stdout, "Hand it to the person over a channel you trust: whoever holds it can set the password.")
	fmt.Fprintln(stdout, "Setting the password signs them out on every device; links made earlier stop working.")
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs quoting, so that a
// command printed for the operator can be pasted as it is.
func shellQuote(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@%+=:,./-_", c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// selfCommand is how the operator ran this program, for commands printed
// for them to run next: "go run ./cmd/doorman" when it was built by go run
// (into a go-build folder), else "doorman".
func selfCommand() string {
	if strings.Contains(filepath.ToSlash(os.Args[0]), "/go-build") {
		return "go run ./cmd/doorman"
	}
	return "doorman"
}
