package html

import (
	"fmt"
	"time"

	"github.com/doorman/doorman"
)

// PathAPIKeys is the API Sessions page (Team → API keys).
const PathAPIKeys = "/settings/api-keys"

// APIKeyPath is one key's details page.
func APIKeyPath(id string) string { return PathAPIKeys + "/" + id }

// RevokeAPIKeyPath is the "Revoke API key" confirmation (GET shows it, POST
// does it).
func RevokeAPIKeyPath(id string) string { return APIKeyPath(id) + "/revoke" }

// APIKey is one API key as the pages show it; never its secret.
type APIKey struct {
	ID          string
	Name        string
	Prefix      string
	ReadOnly    bool
	Created     Time
	CreatedBy   string
	LastUsed    *Time // nil: never used
	LastIP      string
	LastClient  string
	Requests24h string // "1,234"
	Revoked     *Time
}

// NewAPIKey describes k at now. client is how the last client is named.
func NewAPIKey(k *doorman.APIKey, client string, now time.Time) APIKey {
	v := APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, ReadOnly: k.ReadOnly, Created: NewTime(k.CreatedAt, now),
		CreatedBy: k.CreatedByEmail, LastIP: k.LastIP, LastClient: client, Requests24h: thousands(k.Requests24h)}
	if k.LastUsedAt != nil {
		t := NewTime(*k.LastUsedAt, now)
		// A key is "Active now" no more than a session is; the guide writes
		// minutes for recent use ("5 minutes ago").
		if now.Sub(*k.LastUsedAt) < time.Minute {
			t.Relative = "Just now"
		}
		v.LastUsed = &t
	}
	if k.RevokedAt != nil {
		t := NewTime(*k.RevokedAt, now)
		v.Revoked = &t
	}
	if v.CreatedBy == "" {
		v.CreatedBy = Unknown
	}
	return v
}

// Path is the key's details page.
func (k APIKey) Path() string { return APIKeyPath(k.ID) }

// RevokePath is the key's revoke confirmation.
func (k APIKey) RevokePath() string { return RevokeAPIKeyPath(k.ID) }

// APIKeysPage is Team → API keys, the guide's "API Sessions".
type APIKeysPage struct {
	Layout
	Keys []APIKey
	// Name, ReadOnly and Error refill the create form after a refusal.
	Name     string
	ReadOnly bool
	Error    string
}

func (*APIKeysPage) template() string { return "apikeys" }

// APIKeyCreatedPage shows a new key's secret, this once.
type APIKeyCreatedPage struct {
	Layout
	Key    APIKey
	Secret string
}

func (*APIKeyCreatedPage) template() string { return "apikeys_created" }

// Bar is one hour of a key's usage chart.
type Bar struct {
	X, Y, Width, Height int
	Label               string // "14:00–15:00 UTC: 1,234 requests"
	Hour                string // "14:00"
	Requests            string
}

// Chart is a bar chart of requests per hour drawn as inline SVG.
type Chart struct {
	Width, Height int
	Bars          []Bar
	Max           string // the tallest bar's count
	Total         string
	From, To      string // "Jan 9 15:00", "Jan 10 14:59 UTC"
}

// Chart geometry: 24 bars of 16 px with 4 px gaps, 96 px tall.
const (
	chartBar    = 16
	chartGap    = 4
	chartHeight = 96
)

// NewChart draws hours (oldest first).
func NewChart(hours []doorman.UsageHour) Chart {
	c := Chart{Width: len(hours)*(chartBar+chartGap) - chartGap, Height: chartHeight}
	var top, total int64
	for _, h := range hours {
		top = max(top, h.Requests)
		total += h.Requests
	}
	c.Max, c.Total = thousands(top), thousands(total)
	for i, h := range hours {
		height := 0
		if top > 0 {
			height = int(h.Requests * chartHeight / top)
			if h.Requests > 0 && height < 2 {
				height = 2 // a request is never invisible
			}
		}
		start := h.Hour.UTC()
		c.Bars = append(c.Bars, Bar{X: i * (chartBar + chartGap), Y: chartHeight - height, Width: chartBar, Height: height,
			Label: fmt.Sprintf("%s–%s UTC: %s", start.Format("Jan 2 15:04"), start.Add(time.Hour).Format("15:04"),
				plural(int(h.Requests), "request", "requests")),
			Hour: start.Format("Jan 2 15:04"), Requests: thousands(h.Requests)})
	}
	if len(hours) > 0 {
		c.From = hours[0].Hour.UTC().Format("Jan 2 15:04")
		c.To = hours[len(hours)-1].Hour.UTC().Add(time.Hour-time.Minute).Format("Jan 2 15:04") + " UTC"
	}
	return c
}

// APIKeyPage is "View API Key Details".
type APIKeyPage struct {
	Layout
	Key   APIKey
	Chart Chart
}

func (*APIKeyPage) template() string { return "apikey" }

// RevokeAPIKeyPage confirms revoking a key.
type RevokeAPIKeyPage struct {
	Layout
	Key APIKey
	// Dialog is set when rendered inside the details page's <template>.
	Dialog bool
}

func (*RevokeAPIKeyPage) template() string { return "apikey_revoke" }
