package http_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorman/doorman"
	doormanhttp "github.com/doorman/doorman/http"
)

// strangeStrings exercise every escape encoding/json makes.
var strangeStrings = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "café ☕ 日本", "line\u2028para\u2029", "bad \xff\xfe utf8 \xc3", "emoji 🚪",
}

func TestJSONAppenders(t *testing.T) {
	now := time.Date(2026, 1, 10, 9, 15, 0, 123456000, time.UTC)
	end := now.Add(72 * time.Hour)
	for i, str := range strangeStrings {
		sess := &doorman.Session{
			ID: "sess_" + str, UserID: "usr_1", AccountID: "acc_1",
			CreatedAt: now.Add(-time.Duration(i) * time.Hour), LastActiveAt: now.Add(-time.Minute),
			RememberMe: i%2 == 0, IP: "203.0.113." + str,
			Device:   doorman.Device{Browser: str, BrowserVersion: "1." + str, OS: str, OSVersion: str, Model: str, Type: str},
			Location: doorman.Location{City: str, Region: str, Country: str, CountryCode: str, ISP: str, Local: i == 3},
			Activity: doorman.Activity{Logins: int64(i), Actions: -int64(i) * 1000, LastPage: str},
			Risk:     doorman.Risk{Level: str, Reasons: []string{str, "unknown_location"}},
		}
		if i%3 == 0 {
			sess.ExpiresAt = &end
		}
		set := doorman.DefaultSettings()
		if i%4 == 0 {
			set.IdleTimeout = doorman.IdleNever
		}
		p := &doorman.Principal{Session: sess, Account: &doorman.Account{ID: "acc_1", Settings: set},
			User: &doorman.User{ID: "usr_" + str, AccountID: "acc_1", Email: str, Name: str, Role: doorman.Role(str)}}
		other := *sess
		other.Risk = doorman.Risk{}
		other.LastActiveAt = now.Add(-50 * time.Hour)

		for name, pair := range map[string][2][]byte{
			"whoami":    pair(doormanhttp.WhoamiJSONBothWays(p, now)),
			"login":     pair(doormanhttp.LoginJSONBothWays("tok"+str, p, now)),
			"sessions":  pair(doormanhttp.SessionsJSONBothWays([]*doorman.Session{sess, &other}, set, now)),
			"empty":     pair(doormanhttp.SessionsJSONBothWays(nil, set, now)),
			"error":     pair(doormanhttp.ErrorJSONBothWays("invalid", str, str, "req"+str)),
			"no reason": pair(doormanhttp.ErrorJSONBothWays("invalid", str, "", "req")),
			"string":    pair(doormanhttp.StringJSONBothWays(str)),
			"batch":     pair(doormanhttp.BatchJSONBothWays(str)),
		} {
			if !bytes.Equal(pair[0], pair[1]) {
				t.Errorf("%s %q:\nappender      %s\nencoding/json %s", name, str, pair[0], pair[1])
			}
			if !json.Valid(pair[0]) {
				t.Errorf("%s %q: invalid JSON %s", name, str, pair[0])
			}
		}
	}
}

func pair(a, b []byte) [2][]byte { return [2][]byte{a, b} }

func FuzzAppendString(f *testing.F) {
	for _, s := range strangeStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, std := doormanhttp.StringJSONBothWays(s)
		if !bytes.Equal(fast, std) {
			t.Errorf("%q: appender %s, encoding/json %s", s, fast, std)
		}
	})
}

// TestAppendTime holds appendTime to encoding/json over the times answers
// carry (UTC, whole and fractional seconds, every trailing-zero count) and
// the ones it leaves to time's formatter (other zones).
func TestAppendTime(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	times := []time.Time{
		time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 100000000, time.UTC),
		time.Date(2026, 6, 1, 12, 0, 0, 5, berlin),
		time.Date(2026, 6, 1, 12, 0, 0, 0, time.Local),
		time.Now(), time.Now().UTC(),
	}
	for ns := 1; ns < 1e9; ns *= 10 {
		times = append(times, time.Date(2024, 2, 29, 1, 2, 3, ns, time.UTC), time.Date(2024, 2, 29, 1, 2, 3, ns*7+3, time.UTC))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(253402300800), r.Int64N(1e9)).UTC())
	}
	for _, tm := range times {
		fast, std := doormanhttp.TimeJSONBothWays(tm)
		if !bytes.Equal(fast, std) {
			t.Errorf("%v: appender %s, encoding/json %s", tm, fast, std)
		}
	}
}
