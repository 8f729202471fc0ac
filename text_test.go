package doorman_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/doorman/doorman"
)

func TestValidText(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"ana@example.com", true},
		{"Zoë — 東京 🚪", true},
		{"a\x00b", false},
		{"\x00", false},
		{"\xff", false},
		{"caf\xc3", false},           // a rune cut in half
		{"\xed\xa0\x80", false},      // a UTF-16 surrogate encoded as UTF-8
		{"\xc0\xaf", false},          // an overlong '/'
		{"tab\tnewline\n", true},     // control characters other than NUL are text
		{"\uFFFD replacement", true}, // the replacement character itself is fine
	}
	for _, tt := range tests {
		if got := doorman.ValidText(tt.in); got != tt.want {
			t.Errorf("ValidText(%q) = %t, want %t", tt.in, got, tt.want)
		}
		err := doorman.ValidateText("reason", tt.in)
		if (err == nil) != tt.want {
			t.Errorf("ValidateText(%q) = %v, want error %t", tt.in, err, !tt.want)
		}
		if err != nil && (doorman.ErrorCode(err) != doorman.EINVALID || !strings.HasPrefix(doorman.ErrorMessage(err), "reason ")) {
			t.Errorf("ValidateText(%q) = %v, want EINVALID naming the field", tt.in, err)
		}
		if err := doorman.CheckText("ok", tt.in); (err == nil) != tt.want || (err != nil && doorman.ErrorCode(err) != doorman.EINVALID) {
			t.Errorf("CheckText(%q) = %v", tt.in, err)
		}
	}
	if err := doorman.ValidateTexts("a", "fine", "b", "bad\x00"); doorman.ErrorMessage(err) != "b must not contain a NUL byte" {
		t.Errorf("ValidateTexts = %v, want the second field named", err)
	}
}

func TestCutText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"héllo", 2, "h"},               // é is 2 bytes: not split
		{"héllo", 3, "hé"},              // the cut falls after é
		{"日本語", 4, "日"},                 // 3-byte runes
		{"日本語", 5, "日"},                 // 3-byte runes
		{"日本語", 6, "日本"},                // 3-byte runes
		{"a🚪b", 4, "a"},                 // a 4-byte rune
		{"a🚪b", 5, "a🚪"},                // a 4-byte rune
		{"\xff\xff\xff", 2, "\xff\xff"}, // invalid bytes are cut like any byte
	}
	for _, tt := range tests {
		if got := doorman.CutText(tt.in, tt.n); got != tt.want {
			t.Errorf("CutText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	// Every cut of valid text is valid text, for every length.
	s := strings.Repeat("Zoë 東京 🚪 ", 20)
	for n := 0; n <= len(s)+1; n++ {
		got := doorman.CutText(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(s, got) || len(got) < n-3 {
			t.Fatalf("CutText(_, %d) = %q (%d bytes)", n, got, len(got))
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"Mozilla/5.0", 100, "Mozilla/5.0"},
		{"a\x00b", 100, "ab"},
		{"a\xffb", 100, "a\uFFFDb"},
		{"a\xff\xfeb", 100, "a\uFFFDb"},
		{"ab\xff", 3, "ab"}, // U+FFFD is 3 bytes: it does not fit, and is not split
	}
	for _, tt := range tests {
		got := doorman.CleanText(tt.in, tt.n)
		if got != tt.want || !doorman.ValidText(got) {
			t.Errorf("CleanText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	// A User-Agent of non-ASCII text longer than MaxUserAgent keeps whole
	// characters.
	ua := "Mozilla/5.0 " + strings.Repeat("Браузер ", 200)
	got := doorman.CleanText(ua, doorman.MaxUserAgent)
	if len(got) > doorman.MaxUserAgent || !utf8.ValidString(got) || len(got) < doorman.MaxUserAgent-3 {
		t.Errorf("CleanText(long User-Agent) = %d bytes, valid %t", len(got), utf8.ValidString(got))
	}
}

func TestIDWellFormed(t *testing.T) {
	id := doorman.NewID(doorman.PrefixSession, time.Now())
	tests := []struct {
		prefix, id string
		want       bool
	}{
		{doorman.PrefixSession, id, true},
		{doorman.PrefixSession, "sess_01HMX0000000000000000000AA", true},
		{doorman.PrefixUser, id, false},                                   // another kind of id
		{doorman.PrefixSession, "sess_", false},                           // no digits
		{doorman.PrefixSession, id[:len(id)-1], false},                    // too short
		{doorman.PrefixSession, id + "0", false},                          // too long
		{doorman.PrefixSession, "sess_01HMX000000000000000000OAA", false}, // O is not a Crockford digit
		{doorman.PrefixSession, "sess_01hmx0000000000000000000aa", false}, // lower case is not what NewID writes
		{doorman.PrefixSession, "sess_81HMX0000000000000000000AA", false}, // more than 128 bits
		{doorman.PrefixSession, "sess_01HMX000000000000000000\xffAA", false},
		{doorman.PrefixSession, "sess_01HMX0000000000000000000A\x00", false},
		{doorman.PrefixSession, "SESS_01HMX0000000000000000000AA", false},
		{doorman.PrefixSession, "", false},
	}
	for _, tt := range tests {
		if got := doorman.IDWellFormed(tt.prefix, tt.id); got != tt.want {
			t.Errorf("IDWellFormed(%q, %q) = %t, want %t", tt.prefix, tt.id, got, tt.want)
		}
	}
	for _, p := range []string{doorman.PrefixAccount, doorman.PrefixUser, doorman.PrefixEvent, doorman.PrefixAPIKeyID,
		doorman.PrefixAlert, doorman.PrefixDelivery, doorman.PrefixChallenge, doorman.PrefixDevice} {
		if id := doorman.NewID(p, time.Now()); !doorman.IDWellFormed(p, id) {
			t.Errorf("IDWellFormed(%q, NewID) = false for %s", p, id)
		}
	}
}

func TestAuditFilterValidate(t *testing.T) {
	tests := []struct {
		f    doorman.AuditFilter
		want string // "" when valid; else a part of the message
	}{
		{doorman.AuditFilter{}, ""},
		{doorman.AuditFilter{Action: doorman.ActionSignIn, Actor: "ana@example.com", Target: "sess_1"}, ""},
		{doorman.AuditFilter{Action: doorman.ActionWebhookTested}, ""},
		{doorman.AuditFilter{Action: "sign_in_or_whatever"}, `"sign_in_or_whatever" is not a known audit action`},
		{doorman.AuditFilter{Action: "sign\x00in"}, "not a known audit action"},
		{doorman.AuditFilter{Actor: "ana\xff@example.com"}, "actor is not valid UTF-8"},
		{doorman.AuditFilter{Target: "\x00"}, "target must not contain a NUL byte"},
		{doorman.AuditFilter{ActorID: "usr_\xff"}, "actor id is not valid UTF-8"},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: Validate() = %v", tt.f, err)
			}
			continue
		}
		if doorman.ErrorCode(err) != doorman.EINVALID || !strings.Contains(doorman.ErrorMessage(err), tt.want) ||
			!utf8.ValidString(doorman.ErrorMessage(err)) {
			t.Errorf("%+v: Validate() = %v, want EINVALID with %q", tt.f, err, tt.want)
		}
	}
}
