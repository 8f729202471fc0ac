package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorman/doorman"
)

// TestAuditExportUnknownAction: an action Doorman does not record is
// refused before the database is opened, saying so and listing every
// action with its words; the command exits non-zero. Every action of the
// table, people's and password resets' included, is accepted.
func TestAuditExportUnknownAction(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, action := range []string{"sign_in_everywhere", "Sign_In", "sign in", "\xff"} {
		out, err := runCmd(t, "", "audit", "export", "--db", db, "--action", action)
		if err == nil {
			t.Fatalf("--action %q succeeded:\n%s", action, out)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "--action ") || !strings.Contains(msg, "is not an audit action. The actions are:") {
			t.Errorf("--action %q: %q", action, msg)
		}
		for _, a := range doorman.AuditActions {
			if !strings.Contains(msg, "  "+a.Code+" ") || !strings.Contains(msg, a.Words) || !strings.Contains(msg, "\n"+a.Group+"\n") {
				t.Errorf("--action %q: the list lacks %s (%s) under %s", action, a.Code, a.Words, a.Group)
			}
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused export created the database: %v", err)
	}

	// Known actions export (an empty log: the header alone).
	for _, a := range doorman.AuditActions {
		out, err := runCmd(t, "", "audit", "export", "--db", db, "--action", a.Code)
		if err != nil || out != "id,at,actor,action,target,reason,ip,user_agent,count,details\n" {
			t.Errorf("--action %s: %v\n%s", a.Code, err, out)
		}
	}
}

// TestAuditExportUnknownActionExitCode runs the command as a process: an
// unknown action prints the list on standard error and exits 2, with
// nothing on standard output.
func TestAuditExportUnknownActionExitCode(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "audit", "export", "--db", filepath.Join(t.TempDir(), "d.db"), "--action", "sign_in_everywhere")
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2\n%s", err, stderr.String())
	}
	if stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), `doorman: --action "sign_in_everywhere" is not an audit action.`) ||
		!strings.Contains(stderr.String(), "user_sessions_revoked") || !strings.Contains(stderr.String(), "Forced sign-out") {
		t.Errorf("stdout %q\nstderr %q", stdout.String(), stderr.String())
	}
}
