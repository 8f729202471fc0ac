package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
)

// cmdAuditExport writes every audit event a filter matches, newest first, as
// CSV (with a header row) or JSON Lines. It reads only, so it is not
// audited itself.
func cmdAuditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit export", stderr)
	db := dbFlag(fs)
	account := fs.String("account", "", "the account (team) name whose events to export (default: every account's)")
	format := fs.String("format", doorman.AuditCSV, "csv (with a header row) or jsonl (one JSON object a line)")
	since := fs.String("since", "", "only events at or after this time, RFC 3339 (2026-01-10T00:00:00Z)")
	action := fs.String("action", "", "only events of this action, such as sign_in or user_sessions_revoked (an unknown one lists them all)")
	out := fs.String("out", "", "file to write (created, readable by its owner only; default: standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	f := doorman.AuditFilter{Action: strings.TrimSpace(*action)}
	if f.Action != "" && !doorman.KnownAuditAction(f.Action) {
		return unknownAction(f.Action)
	}
	if *since != "" {
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return fmt.Errorf("--since %q: want an RFC 3339 time such as 2026-01-10T00:00:00Z", *since)
		}
		f.Since = t.UTC()
	}
	if *format != doorman.AuditCSV && *format != doorman.AuditJSONL {
		return fmt.Errorf("--format %q: want csv or jsonl", *format)
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if *account != "" {
		a, err := store.FindAccountByName(ctx, strings.TrimSpace(*account))
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return fmt.Errorf("no account is named %q", *account)
		} else if err != nil {
			return err
		}
		f.AccountID = a.ID
	}

	w, finish := stdout, func(error) error { return nil }
	if *out != "" {
		file, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		w = file
		finish = func(failed error) error {
			err := file.Close()
			if failed != nil {
				os.Remove(*out) // no half export that looks whole
				return nil
			}
			return err
		}
	}
	n, err := exportAudit(ctx, app.NewService(store, argon2id.New()), f, *format, w)
	if cerr := finish(err); err == nil {
		err = cerr
	}
	if err != nil {
		return userMessage(err)
	}
	if *out != "" {
		fmt.Fprintf(stderr, "Wrote %d audit events to %s.\n", n, *out)
	}
	return nil
}

// exportAudit writes the events of f to w in format, a page at a time, and
// returns how many it wrote.
func exportAudit(ctx context.Context, svc *app.Service, f doorman.AuditFilter, format string, w io.Writer) (int, error) {
	enc, err := doorman.NewAuditEncoder(w, format)
	if err != nil {
		return 0, err
	}
	n := 0
	err = svc.ExportAudit(ctx, nil, f, func(ev *doorman.AuditEvent) error {
		n++
		return enc.Encode(ev)
	})
	if ferr := enc.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// unknownAction says that action is none Doorman records and lists those
// it does, by group, each with its words.
func unknownAction(action string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--action %q is not an audit action. The actions are:\n", action)
	width := 0
	for _, a := range doorman.AuditActions {
		width = max(width, len(a.Code))
	}
	group := ""
	for _, a := range doorman.AuditActions {
		if a.Group != group {
			group = a.Group
			fmt.Fprintf(&b, "\n%s\n", group)
		}
		fmt.Fprintf(&b, "  %-*s  %s\n", width, a.Code, a.Words)
	}
	return errors.New(strings.TrimRight(b.String(), "\n"))
}
