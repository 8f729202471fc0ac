package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
)

// The operators' user commands: list, invite, set-role, disable, enable,
// set-password. Each is audited as the system actor, and asks for the
// reasons the Team page and API ask for.

const userUsage = `usage: doorman user create|list|invite|set-role|disable|enable|remove|set-password|reset-2fa|reset-link --account NAME [--email EMAIL] …`

// userCommands dispatches "doorman user …".
func userCommands(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	rest := args[1:]
	switch args[0] {
	case "create":
		return cmdUserCreate(ctx, rest, stdin, stdout, stderr)
	case "reset-2fa":
		return cmdUserReset2FA(ctx, rest, stdout, stderr)
	case "reset-link":
		return cmdUserResetLink(ctx, rest, stdout, stderr)
	case "list":
		return cmdUserList(ctx, rest, stdout, stderr)
	case "invite":
		return cmdUserInvite(ctx, rest, stdout, stderr)
	case "set-role":
		return cmdUserChange(ctx, "set-role", rest, stdout, stderr)
	case "disable":
		return cmdUserChange(ctx, "disable", rest, stdout, stderr)
	case "enable":
		return cmdUserChange(ctx, "enable", rest, stdout, stderr)
	case "remove":
		return cmdUserChange(ctx, "remove", rest, stdout, stderr)
	case "set-password":
		return cmdUserSetPassword(ctx, rest, stdin, stdout, stderr)
	}
	return errors.New(userUsage)
}

// openService opens the store of db and a Service on it; close releases it.
func openService(ctx context.Context, db string) (svc *app.Service, close func(), err error) {
	store, err := openStore(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return app.NewService(store, argon2id.New()), func() { store.Close() }, nil
}

// cmdUserList prints every user of an account with status, 2FA, last
// activity and active sessions.
func cmdUserList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user list", stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "the account (team) name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*account) == "" {
		return errors.New("usage: doorman user list --account NAME")
	}
	svc, closeStore, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer closeStore()
	_, people, err := svc.OperatorPeople(ctx, *account)
	if err != nil {
		return userMessage(err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tSTATUS\t2FA\tLAST ACTIVE\tSESSIONS\tID")
	for _, p := range people {
		last, tf := "-", "off"
		if p.LastActiveAt != nil {
			last = p.LastActiveAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		if p.TwoFactor {
			tf = "on"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p.User.Email, orDash(p.User.Name), p.User.Role, p.User.Status(), tf, last, p.Sessions, p.User.ID)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cmdUserInvite invites a person: the link is printed, and emailed when
// SMTP is configured.
func cmdUserInvite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user invite", stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "the account (team) name")
	email := fs.String("email", "", "the person's email")
	name := fs.String("name", "", "the person's name (optional; they may set theirs)")
	role := fs.String("role", "member", "admin or member")
	base := fs.String("base-url", "", "public URL of the server, which the invitation link starts with (as serve's --base-url)")
	mail := addAlertFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*account) == "" || *email == "" {
		return errors.New("usage: doorman user invite --account NAME --email EMAIL [--role admin|member] [--base-url URL] [--smtp-addr …]")
	}
	if !doorman.Role(*role).Valid() {
		return fmt.Errorf("--role %q: want admin or member", *role)
	}
	var baseURL *url.URL
	if *base != "" {
		u, err := url.Parse(*base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--base-url %q must be an absolute http:// or https:// URL", *base)
		}
		baseURL = u
	} else if mail.smtpAddr != "" {
		return errors.New("--base-url is required with --smtp-addr: the emailed link must lead to the server")
	}
	svc, closeStore, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer closeStore()
	svc.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if baseURL != nil {
		if err := mail.wire(svc, baseURL, svc.Log); err != nil {
			return err
		}
	}
	inv, err := svc.OperatorInviteUser(ctx, *account, app.InviteRequest{Email: *email, Name: *name, Role: doorman.Role(*role)})
	if err != nil {
		return userMessage(err)
	}
	fmt.Fprintf(stdout, "Invited %s as %s (%s) to account %q.\n", inv.User.Email, inv.User.Role, inv.User.ID, strings.TrimSpace(*account))
	switch {
	case inv.Emailed:
		fmt.Fprintf(stdout, "The invitation was emailed. The link, valid once for 7 days:\n%s\n", inv.URL)
	case mail.smtpAddr != "":
		fmt.Fprintf(stdout, "The email could not be sent (see above): hand this link over yourself, valid once for 7 days:\n%s\n", inv.URL)
	case baseURL == nil:
		fmt.Fprintf(stdout, "Email is not set up (no --smtp-addr): hand this link over yourself, with the server's public URL in front (or pass --base-url); valid once for 7 days:\n%s\n", inv.URL)
	default:
		fmt.Fprintf(stdout, "Email is not set up (no --smtp-addr): hand this link over yourself, valid once for 7 days:\n%s\n", inv.URL)
	}
	return nil
}

// cmdUserChange is set-role, disable, enable and remove.
func cmdUserChange(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user "+verb, stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "the user's account (team) name")
	email := fs.String("email", "", "the user's email")
	reasonHelp := "why (required; recorded in the audit log)"
	if verb == "enable" {
		reasonHelp = "why (optional; recorded in the audit log)"
	}
	reason := fs.String("reason", "", reasonHelp)
	var role *string
	if verb == "set-role" {
		role = fs.String("role", "", "admin or member (a reason is required to make an admin a member)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || *email == "" || (role != nil && *role == "") {
		extra := ""
		if role != nil {
			extra = " --role admin|member"
		}
		return fmt.Errorf("usage: doorman user %s --account NAME --email EMAIL%s --reason REASON", verb, extra)
	}
	svc, closeStore, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer closeStore()
	var c app.UserChange
	c.Reason = *reason
	switch verb {
	case "remove":
		if err := svc.OperatorRemoveUser(ctx, *account, *email, *reason); err != nil {
			return userMessage(err)
		}
		fmt.Fprintf(stdout, "Removed %s from account %q; every session of theirs ended.\n", doorman.NormalizeEmail(*email), *account)
		return nil
	case "set-role":
		r := doorman.Role(*role)
		c.Role = &r
	case "disable":
		yes := true
		c.Disabled = &yes
	case "enable":
		no := false
		c.Disabled = &no
	}
	u, err := svc.OperatorUpdateUser(ctx, *account, *email, c)
	if err != nil {
		return userMessage(err)
	}
	switch verb {
	case "set-role":
		fmt.Fprintf(stdout, "%s is now %s.\n", u.Email, u.Role)
	case "disable":
		fmt.Fprintf(stdout, "Disabled %s: every session of theirs ended and they cannot sign in.\n", u.Email)
	case "enable":
		fmt.Fprintf(stdout, "Enabled %s: they can sign in again.\n", u.Email)
	}
	return nil
}

// cmdUserSetPassword sets a user's password, read from stdin, and ends
// every session of theirs.
func cmdUserSetPassword(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("user set-password", stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "the user's account (team) name")
	email := fs.String("email", "", "the user's email")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || *email == "" {
		return errors.New("usage: doorman user set-password --account NAME --email EMAIL (the password is read from stdin)")
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	svc, closeStore, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer closeStore()
	u, n, err := svc.OperatorSetPassword(ctx, *account, *email, pw)
	if err != nil {
		return userMessage(err)
	}
	fmt.Fprintf(stdout, "Set the password of %s; %s ended.\n", u.Email, plural(n, "session"))
	return nil
}
