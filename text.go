package doorman

import (
	"strings"
	"unicode/utf8"
)

// ValidText reports whether s may be stored or looked up as text: valid
// UTF-8 without a NUL byte. PostgreSQL refuses both in text columns and
// parameters, so text that fails this is a client's mistake, never a
// question for the store.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// ValidateText returns EINVALID naming field when s is not ValidText.
func ValidateText(field, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return Errorf(EINVALID, "%s must not contain a NUL byte", field)
	}
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8 text", field)
	}
	return nil
}

// ValidateTexts is ValidateText over field, value pairs; it returns the
// first failure.
func ValidateTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := ValidateText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// CutText returns s cut to at most n bytes, on a rune boundary, so that a
// cut never leaves half a character (which no store would accept).
func CutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i := n
	// Back up over continuation bytes to the start of the rune that the cut
	// would split; at most UTFMax-1 of them.
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// CleanText returns s as storable text of at most n bytes: invalid UTF-8
// replaced by U+FFFD, NUL bytes dropped, and then cut on a rune boundary.
// It is for what the client does not choose on purpose and Doorman only
// records (a User-Agent, a page title, an error message): a sign-in must
// not fail because a header holds odd bytes.
func CleanText(s string, n int) string {
	if !ValidText(s) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	}
	return CutText(s, n)
}

// MsgInvalidText is the message of CheckText's error, and of the stores'
// when a value they were given is not ValidText.
const MsgInvalidText = "a text value is not valid UTF-8 or contains a NUL byte"

// CheckText returns EINVALID (MsgInvalidText) when any of vals is not
// ValidText. Stores use it before they write or query, where they cannot
// name the caller's field; the Service names it with ValidateText first.
func CheckText(vals ...string) error {
	for _, v := range vals {
		if !ValidText(v) {
			return &Error{Code: EINVALID, Message: MsgInvalidText}
		}
	}
	return nil
}
