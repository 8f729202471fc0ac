package html_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	pages "github.com/doorman/doorman/http/html"
)

func TestActionText(t *testing.T) {
	for code, want := range map[string]string{
		doorman.ActionSignIn:              "Signed in",
		doorman.ActionUserSessionsRevoked: "Forced sign-out",
		doorman.ActionSettingsUpdated:     "Changed session settings",
		doorman.ActionAPIKeyCreated:       "Created an API key",
		doorman.ActionPasswordReset:       "Reset password",
		"some_new_action":                 "Some new action",
		"élan_vital":                      "Élan vital",
		"":                                pages.Unknown,
	} {
		if got := pages.ActionText(code); got != want {
			t.Errorf("ActionText(%q) = %q, want %q", code, got, want)
		}
	}
}

// TestActionGroups: the filter offers every action once, in words, under
// its group, the chosen one selected.
func TestActionGroups(t *testing.T) {
	groups := pages.ActionGroups(doorman.ActionUserSessionsRevoked)
	var codes, labels, selected []string
	seenGroups := map[string]bool{}
	for _, g := range groups {
		if g.Label == "" || seenGroups[g.Label] || len(g.Options) == 0 {
			t.Errorf("group %q: unnamed, repeated or empty", g.Label)
		}
		seenGroups[g.Label] = true
		for _, o := range g.Options {
			codes = append(codes, o.Value)
			labels = append(labels, o.Label)
			if o.Selected {
				selected = append(selected, o.Value)
			}
			if strings.Contains(o.Label, "_") || o.Label == o.Value {
				t.Errorf("option %s reads %q", o.Value, o.Label)
			}
		}
	}
	var want []string
	for _, a := range doorman.AuditActions {
		want = append(want, a.Code)
	}
	if !slices.Equal(codes, want) {
		t.Errorf("options %q, want every action in the table's order", codes)
	}
	if !slices.Equal(selected, []string{doorman.ActionUserSessionsRevoked}) {
		t.Errorf("selected %q", selected)
	}
	if len(groups) != 6 || groups[0].Label != doorman.AuditGroupSessions {
		t.Errorf("%d groups, first %q", len(groups), groups[0].Label)
	}
	if !slices.Contains(labels, "Forced sign-out") {
		t.Errorf("labels %q", labels)
	}
}

func TestAuditReason(t *testing.T) {
	for _, tt := range []struct {
		ev   doorman.AuditEvent
		want string
	}{
		{doorman.AuditEvent{Action: doorman.ActionUserSessionsRevoked, Reason: "Left the company"}, "Left the company"},
		{doorman.AuditEvent{Action: doorman.ActionSignInFailed, Reason: "bad credentials"}, "Wrong email or password"},
		{doorman.AuditEvent{Action: doorman.ActionSignInFailed, Reason: "throttled"}, "Too many attempts"},
		{doorman.AuditEvent{Action: doorman.ActionSessionReported, Reason: doorman.ReasonReported}, "Reported by the user as not theirs"},
		{doorman.AuditEvent{Action: doorman.ActionSignInAlert, Reason: "unknown_location,unknown_device"}, "Unknown location, Unknown device"},
		{doorman.AuditEvent{Action: doorman.ActionSignIn, Details: "risk=high reasons=unknown_location,impossible_travel two_factor=true"},
			"High: Unknown location, Impossible travel"},
		{doorman.AuditEvent{Action: doorman.ActionSignIn, Details: "two_factor=true"}, ""},
	} {
		if got := pages.AuditReason(&tt.ev); got != tt.want {
			t.Errorf("AuditReason(%s, %q, %q) = %q, want %q", tt.ev.Action, tt.ev.Reason, tt.ev.Details, got, tt.want)
		}
	}
}

func TestAuditDetails(t *testing.T) {
	facts := func(fs []pages.AuditFact) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Key+"|"+f.Label+": "+f.Value)
		}
		return out
	}
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"idle_timeout=7d->1d remember_me_allowed=true->false remember_me_days=30->30 members_see_sessions=true->true", []string{
			"idle_timeout|Sign out inactive sessions after: 7 days → 1 day",
			"remember_me_allowed|Remember Me allowed: Yes → No",
			"remember_me_days|Remember Me lasts (days): 30 → 30",
			"members_see_sessions|Members see their sessions: Yes → Yes"}},
		// An API key's name may hold spaces; a user's is quoted.
		{"name=Production API v2 prefix=dk_live_ab12 read_only=true", []string{
			"name|Name: Production API v2", "prefix|Key prefix: dk_live_ab12", "read_only|Read-only: Yes"}},
		{`user_id=usr_1 name="Mike \"M\" Chen" role=admin`, []string{
			"user_id|User ID: usr_1", `name|Name: Mike "M" Chen`, "role|Role: Admin"}},
		{"risk=medium reasons=old_session", []string{"risk|Concern: Medium", "reasons|Reasons: Old session"}},
		{"alert=alt_1 channel=webhook event=session.suspicious_sign_in attempts=3 status=502", []string{
			"alert|Alert ID: alt_1", "channel|Sent by: Webhook", "event|Alert: Suspicious sign-in",
			"attempts|Attempts: 3", "status|HTTP status: 502"}},
		{"alert=alt_1 user=ana@example.com channels=email,webhook", []string{
			"alert|Alert ID: alt_1", "user|User: ana@example.com", "channels|Sent by: Email, Webhook"}},
		{"brand_new_key=x", []string{"brand_new_key|Brand new key: x"}},
		{"free text first=1", []string{"details|Details: free text", "first|First: 1"}},
		{"empty=", []string{"empty|Empty: " + pages.Unknown}},
	} {
		if got := facts(pages.AuditDetails(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("AuditDetails(%q) =\n\t%q\nwant\n\t%q", tt.in, got, tt.want)
		}
	}
}
