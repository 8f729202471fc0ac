package http

import "testing"

// TestAgainTextRoutes: every signed-in form's route says what a
// resubmission of it means, and the table names no route that is not one.
func TestAgainTextRoutes(t *testing.T) {
	forms := map[string]bool{}
	for _, rt := range pageRoutes {
		if rt.auth && !safeMethod(rt.Method) && onceExempt[rt.Pattern()] == "" {
			forms[rt.Pattern()] = true
			if againText[rt.Pattern()] == "" {
				t.Errorf("%s: no word for a resubmission in againText", rt.Pattern())
			}
		}
	}
	for p := range againText {
		if !forms[p] {
			t.Errorf("againText names %s, which is no signed-in form's route", p)
		}
	}
}
