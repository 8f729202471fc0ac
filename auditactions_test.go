package doorman_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/doorman/doorman"
)

// actionConstants reads the package's source for its audit actions: every
// string constant whose name starts with "Action", by name.
func actionConstants(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Action") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: %s is not a string literal", name, id.Name)
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[id.Name] = v
				}
			}
		}
	}
	return out
}

// TestEveryAuditActionHasWords: each action the code base can record (each
// Action… constant) is in AuditActions with words, a group and a target, so
// that a new action without words fails here rather than show its code.
func TestEveryAuditActionHasWords(t *testing.T) {
	consts := actionConstants(t)
	if len(consts) < 40 {
		t.Fatalf("found %d Action constants: the source scan is broken", len(consts))
	}
	codes := map[string]string{} // code → constant
	for name, code := range consts {
		if other, ok := codes[code]; ok {
			t.Errorf("%s and %s share the code %q", name, other, code)
		}
		codes[code] = name
		a, ok := doorman.FindAuditAction(code)
		if !ok {
			t.Errorf("%s (%q) is not in AuditActions: give it words there", name, code)
			continue
		}
		if !doorman.KnownAuditAction(code) {
			t.Errorf("KnownAuditAction(%q) = false", code)
		}
		if a.Words == "" || a.Group == "" || a.Target == "" {
			t.Errorf("%s: words %q, group %q, target %q: each is required", name, a.Words, a.Group, a.Target)
		}
	}
	seen := map[string]bool{}
	targets := map[doorman.AuditTarget]bool{doorman.TargetText: true, doorman.TargetUser: true, doorman.TargetSession: true,
		doorman.TargetAPIKey: true, doorman.TargetAccount: true, doorman.TargetDelivery: true}
	for _, a := range doorman.AuditActions {
		if _, ok := codes[a.Code]; !ok {
			t.Errorf("AuditActions lists %q, which no Action constant names", a.Code)
		}
		if seen[a.Code] {
			t.Errorf("AuditActions lists %q twice", a.Code)
		}
		seen[a.Code] = true
		if !targets[a.Target] {
			t.Errorf("%s: unknown target %q", a.Code, a.Target)
		}
		// Words, not a code: no underscore, a capital first letter, never the code itself.
		if strings.ContainsAny(a.Words, "_=") || a.Words == a.Code || !unicode.IsUpper([]rune(a.Words)[0]) ||
			strings.TrimSpace(a.Words) != a.Words {
			t.Errorf("%s: %q is not words", a.Code, a.Words)
		}
		if a.OwnRequest && a.Target != doorman.TargetSession {
			t.Errorf("%s: OwnRequest is for session targets", a.Code)
		}
	}
	if len(doorman.AuditActions) != len(codes) {
		t.Errorf("%d actions in the table, %d constants", len(doorman.AuditActions), len(codes))
	}
	if _, ok := doorman.FindAuditAction("sign_in_everywhere"); ok || doorman.KnownAuditAction("") {
		t.Error("an unknown or empty code is known")
	}
}

// TestEveryAuditActionFilters: a filter by any action of the table is
// valid, whichever file declares it (people, password resets, alerts).
func TestEveryAuditActionFilters(t *testing.T) {
	for _, a := range doorman.AuditActions {
		if err := (doorman.AuditFilter{Action: a.Code}).Validate(); err != nil {
			t.Errorf("filter by %s: %v", a.Code, err)
		}
	}
}
