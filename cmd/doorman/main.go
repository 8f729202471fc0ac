// Command doorman runs the Doorman session service and its operator tools.
//
//	doorman serve [--demo]        run the server
//	doorman migrate               apply schema migrations and exit
//	doorman user create           create a user (password from stdin)
//	doorman user list|invite|set-role|disable|enable|remove|set-password
//	                              manage the people of an account
//	doorman user reset-link       print a password reset link to hand over
//	doorman sessions list|revoke  inspect or end sessions
//	doorman audit export          write the audit log as CSV or JSON Lines
//	doorman bench                 measure whoami throughput against a bare handler
//
// Every subcommand takes --db (a SQLite file path, or a postgres:// URL) and
// reads each flag from DOORMAN_<FLAG> when it is not given, so the tools work
// beside a running server on the same database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/doorman/doorman"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // -h asked for the usage, which was printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "doorman:", err)
		os.Exit(2)
	}
}

const usage = `Doorman: session management for your applications.

Usage:
  doorman serve [--demo] [flags]        run the server (default: SQLite file doorman.db on :8080)
  doorman migrate [--db …]              apply schema migrations and exit
  doorman user create --account NAME --email EMAIL [--name N] [--role admin|member]
                                        create a user; the password is read from stdin
  doorman user reset-2fa --account NAME --email EMAIL --reason R
                                        turn two-factor authentication off for a user
  doorman user reset-link --account NAME --email EMAIL --base-url URL
                                        print a password reset link to hand over
  doorman user list --account NAME      list the account's people with status and sessions
  doorman user invite --account NAME --email EMAIL [--role admin|member] [--base-url URL] [--smtp-addr …]
                                        invite a person; prints the link, emails it with SMTP
  doorman user set-role --account NAME --email EMAIL --role admin|member [--reason R]
  doorman user disable|remove --account NAME --email EMAIL --reason R
  doorman user enable --account NAME --email EMAIL
                                        change a person; disabling and removing end their sessions
  doorman user set-password --account NAME --email EMAIL
                                        set a password (read from stdin); ends the user's sessions
  doorman sessions list --email EMAIL   list a user's active sessions
  doorman sessions revoke ID --reason R sign out one session
  doorman sessions revoke --email EMAIL --reason R
                                        sign out every session of a user, in every account
  doorman audit export [--account NAME] [--format csv|jsonl] [--since RFC3339] [--action A] [--out FILE]
                                        write audit events, newest first
  doorman bench [--url URL | --db postgres://… --nodes N]
                                        load-test whoami against a bare net/http handler
  doorman geoip install [--dir DIR]     fetch the DB-IP Lite city and ASN databases

Run "doorman COMMAND -h" for a command's flags. Every flag may also be set
as DOORMAN_<FLAG> (for example DOORMAN_DB, DOORMAN_DEMO_PASSWORD).
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "user":
		return userCommands(ctx, args[1:], stdin, stdout, stderr)
	case "sessions":
		if len(args) > 1 {
			switch args[1] {
			case "list":
				return cmdSessionsList(ctx, args[2:], stdout, stderr)
			case "revoke":
				return cmdSessionsRevoke(ctx, args[2:], stdout, stderr)
			}
		}
		return errors.New(`usage: doorman sessions list --email EMAIL | doorman sessions revoke ID|--email EMAIL --reason REASON`)
	case "audit":
		if len(args) > 1 && args[1] == "export" {
			return cmdAuditExport(ctx, args[2:], stdout, stderr)
		}
		return errors.New(`usage: doorman audit export [--account NAME] [--format csv|jsonl] [--since RFC3339] [--action A] [--out FILE]`)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "geoip":
		return cmdGeoIP(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// newFlags returns a FlagSet for a subcommand that prints to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("doorman "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags applies DOORMAN_* environment variables as defaults, then args.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "DOORMAN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s: %w", name, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	return fs.Parse(args)
}

// dbFlag registers --db, shared by every subcommand.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "doorman.db", "database: a SQLite file path, or a postgres:// URL for PostgreSQL")
}

// userMessage shows a doorman.Error's message as is and anything else in full
// (operators see their own terminal).
func userMessage(err error) error {
	var e *doorman.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}
