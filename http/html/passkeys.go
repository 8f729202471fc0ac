package html

import (
	"time"

	"github.com/doorman/doorman"
)

// Paths of the passkey forms and of the sign-in with a passkey.
const (
	PathPasskeys     = "/settings/security/passkeys"
	PathLoginPasskey = "/login/passkey"
)

// Passkey is one passkey as the Two-factor authentication page lists it.
type Passkey struct {
	ID        string
	Name      string
	CreatedAt Time
	// LastUsedAt is nil for a passkey never used to sign in.
	LastUsedAt *Time
}

// RemovePath is the form that removes the passkey.
func (p Passkey) RemovePath() string { return PathPasskeys + "/" + p.ID + "/remove" }

// NewPasskeys describes the passkeys as seen at now.
func NewPasskeys(list []*doorman.Passkey, now time.Time) []Passkey {
	out := make([]Passkey, len(list))
	for i, pk := range list {
		out[i] = Passkey{ID: pk.ID, Name: pk.Name, CreatedAt: NewTime(pk.CreatedAt, now)}
		if pk.LastUsedAt != nil {
			t := NewTime(*pk.LastUsedAt, now)
			out[i].LastUsedAt = &t
		}
	}
	return out
}
