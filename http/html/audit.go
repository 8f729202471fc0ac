package html

import (
	"html/template"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/doorman/doorman"
)

// AuditEventPath is the page of one audit event.
func AuditEventPath(id string) string { return PathAudit + "/" + id }

// AuditFilter is the audit page's filter form.
type AuditFilter struct {
	Actor  string
	Action string
	From   string // yyyy-mm-dd
	To     string
}

// OptionGroup is a labelled group of a select's options.
type OptionGroup struct {
	Label   string
	Options []Option
}

// AuditLink is something an event names, in words, with its page when it
// has one.
type AuditLink struct {
	Text string // "mike@company.com", "Chrome on macOS", "Production API"
	// Sub is a second line: a user's name, a session's place, a key's prefix.
	Sub string
	// Note says what became of it: "Session since deleted", "Revoked".
	Note string
	Href string
}

// AuditRow is one event of the audit log in words, as the table and the
// event's page show it.
type AuditRow struct {
	ID     string
	When   Time
	Actor  AuditLink
	Action string // in words: "Forced sign-out"
	Code   string // the action's code, "user_sessions_revoked"
	Count  string // "4 sessions", "" when the action counts nothing
	Target AuditLink
	Reason string
	IP     string
	// Device names the client of the request: "Chrome on macOS".
	Device string
	// UserAgent is the raw User-Agent, shown on hover and on the event's page.
	UserAgent string
}

// Path is the event's page.
func (r AuditRow) Path() string { return AuditEventPath(r.ID) }

// AuditPage is Team → Audit log.
type AuditPage struct {
	Layout
	Filter      AuditFilter
	Actors      []Option
	Actions     []OptionGroup
	Rows        []AuditRow
	Pager       Pager
	ExportCSV   string
	ExportJSONL string
	Error       string
}

func (*AuditPage) template() string { return "admin_audit" }

// AuditFact is one fact of an event's details, in words.
type AuditFact struct {
	Key   string // as recorded: "idle_timeout"
	Label string // "Sign out inactive sessions after"
	Value string // "7 days → 1 day"
}

// AuditEventPage is one event of the audit log, every field in words.
type AuditEventPage struct {
	Layout
	Event AuditRow
	// Place is where the request's address is: "Madrid, Spain".
	Place   string
	Details []AuditFact
}

func (*AuditEventPage) template() string { return "admin_audit_event" }

// ActionText is an audit action in words, from doorman.AuditActions. A code
// it does not list (an event older than its action's removal) reads as
// words too: "Some_action" never shows.
func ActionText(code string) string {
	if a, ok := doorman.FindAuditAction(code); ok {
		return a.Words
	}
	if code == "" {
		return Unknown
	}
	return capitalize(strings.ReplaceAll(code, "_", " "))
}

// ActionGroups are the audit filter's options, grouped as
// doorman.AuditActions groups them, with selected marked.
func ActionGroups(selected string) []OptionGroup {
	var out []OptionGroup
	for _, a := range doorman.AuditActions {
		if len(out) == 0 || out[len(out)-1].Label != a.Group {
			out = append(out, OptionGroup{Label: a.Group})
		}
		g := &out[len(out)-1]
		g.Options = append(g.Options, Option{Value: a.Code, Label: a.Words, Selected: a.Code == selected})
	}
	return out
}

// capitalize writes s with its first character (not byte) upper case.
func capitalize(s string) string {
	_, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(s[:n]) + s[n:]
}

// ActorText names who acted: their email, "System" for operator commands
// and background jobs, "Anonymous" when no one signed in.
func ActorText(actor string) string {
	switch actor {
	case doorman.ActorSystem:
		return "System"
	case "":
		return "Anonymous"
	}
	return actor
}

// reasonWords are the reasons the service writes itself, in words; reasons
// that people typed show as they typed them.
var reasonWords = map[string]string{
	"bad credentials":           "Wrong email or password",
	"user disabled":             "The user is disabled",
	"throttled":                 "Too many attempts",
	"bad two-factor code":       "Wrong two-factor code",
	"password changed":          "Password changed",
	"rotated":                   "Replaced by a new token",
	doorman.ReasonReported:      "Reported by the user as not theirs",
	doorman.ReasonPasswordReset: "Password reset",
}

// AuditReason is an event's reason in words. A sign-in alert's reasons are
// risk codes; a flagged sign-in without a reason gets its concern level
// and reasons from its details.
func AuditReason(ev *doorman.AuditEvent) string {
	if ev.Action == doorman.ActionSignInAlert && ev.Reason != "" {
		return riskReasons(strings.Split(ev.Reason, ","))
	}
	if ev.Reason == "" {
		if r, ok := doorman.RiskFromAuditDetails(ev.Details); ok {
			return doorman.RiskLevelLabel(r.Level) + ": " + riskReasons(r.Reasons)
		}
		return ""
	}
	if w, ok := reasonWords[ev.Reason]; ok {
		return w
	}
	return ev.Reason
}

func riskReasons(codes []string) string {
	words := make([]string, 0, len(codes))
	for _, c := range codes {
		if c = strings.TrimSpace(c); c != "" {
			words = append(words, doorman.RiskReasonTitle(c))
		}
	}
	return strings.Join(words, ", ")
}

// detailLabels name the keys of events' details.
var detailLabels = map[string]string{
	"user_id":                     "User ID",
	"user":                        "User",
	"name":                        "Name",
	"role":                        "Role",
	"disabled":                    "Disabled",
	"prefix":                      "Key prefix",
	"read_only":                   "Read-only",
	"alert":                       "Alert ID",
	"channel":                     "Sent by",
	"channels":                    "Sent by",
	"event":                       "Alert",
	"attempts":                    "Attempts",
	"status":                      "HTTP status",
	"via":                         "Through",
	"url":                         "URL",
	"enabled":                     "Enabled",
	"secret_rotated":              "New secret",
	"delivery":                    "Delivery ID",
	"reset":                       "Reset ID",
	"expires_at":                  "Link expires",
	"replaces":                    "Replaces session",
	"sign_out_others":             "Signed out other sessions",
	"risk":                        "Concern",
	"reasons":                     "Reasons",
	"two_factor":                  "Two-factor authentication",
	"idle_timeout":                "Sign out inactive sessions after",
	"remember_me_allowed":         "Remember Me allowed",
	"remember_me_days":            "Remember Me lasts (days)",
	"members_see_sessions":        "Members see their sessions",
	"end_session_on_failed_proof": "End a session whose device proof fails",
	"session_ended":               "Session ended",
}

// valueWords are values of details in words, whatever their key.
var valueWords = map[string]string{
	"true": "Yes", "false": "No",
	"admin": "Admin", "member": "Member",
	"email": "Email", "webhook": "Webhook", "none": "None",
	"email_link": "The link in an email", "operator": "An operator command",
	doorman.EventSuspiciousSignIn:       "Suspicious sign-in",
	doorman.EventPasswordChanged:        "Password changed",
	doorman.EventTwoFactorDisabled:      "Two-factor authentication turned off",
	doorman.EventWebhookTest:            "Test event",
	doorman.EventPasswordResetRequested: "Password reset requested",
}

// AuditDetails reads an event's details, "key=value" facts separated by
// spaces (a value may hold spaces, or be quoted), into facts in words:
// "idle_timeout=7d->1d" is "Sign out inactive sessions after: 7 days → 1
// day". Keys it does not know read as words too.
func AuditDetails(details string) []AuditFact {
	var out []AuditFact
	var key string
	var val []string
	flush := func() {
		if key == "" {
			return
		}
		out = append(out, AuditFact{Key: key, Label: detailLabel(key), Value: detailValue(key, strings.Join(val, " "))})
	}
	for _, f := range strings.Fields(details) {
		if k, v, ok := strings.Cut(f, "="); ok && detailKey(k) {
			flush()
			key, val = k, []string{v}
			continue
		}
		if key == "" {
			key, val = "details", nil
		}
		val = append(val, f)
	}
	flush()
	return out
}

// detailKey reports whether k looks like a key: lower-case letters,
// digits and underscores.
func detailKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func detailLabel(key string) string {
	if l, ok := detailLabels[key]; ok {
		return l
	}
	return capitalize(strings.ReplaceAll(key, "_", " "))
}

// detailValue writes one value in words; "a->b" is a change, each side in
// words.
func detailValue(key, v string) string {
	if v == "" {
		return Unknown
	}
	if q, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
		v = q
	}
	if from, to, ok := strings.Cut(v, "->"); ok {
		return detailValue(key, from) + " → " + detailValue(key, to)
	}
	switch key {
	case "idle_timeout":
		return capitalize(doorman.IdleTimeout(v).Text())
	case "risk":
		if l := doorman.RiskLevelLabel(v); l != "" {
			return l
		}
	case "reasons":
		return riskReasons(strings.Split(v, ","))
	case "channels":
		var words []string
		for _, c := range strings.Split(v, ",") {
			words = append(words, detailValue("channel", c))
		}
		return strings.Join(words, ", ")
	}
	if w, ok := valueWords[v]; ok {
		return w
	}
	return v
}

// wbr writes s, escaped, with a line-break opportunity (<wbr>) after each
// of the characters in after: an email ("@.") or an IPv6 address (":")
// that must wrap then wraps where one of its parts ends, not anywhere.
func wbr(after, s string) template.HTML {
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(after, s[i]) >= 0 {
			b.WriteString(template.HTMLEscapeString(s[start : i+1]))
			b.WriteString("<wbr>")
			start = i + 1
		}
	}
	b.WriteString(template.HTMLEscapeString(s[start:]))
	return template.HTML(b.String())
}
