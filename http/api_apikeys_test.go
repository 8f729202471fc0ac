package http_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

type apiKeyAnswer struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Prefix      string  `json:"prefix"`
	CreatedAt   string  `json:"created_at"`
	LastUsedAt  *string `json:"last_used_at"`
	Requests24h int64   `json:"requests_24h"`
	ReadOnly    bool    `json:"read_only"`
	CreatedBy   string  `json:"created_by"`
	LastIP      string  `json:"last_ip"`
	LastClient  string  `json:"last_client"`
	RevokedAt   *string `json:"revoked_at"`
}

// createKey creates a key through the API as the signed-in admin of token,
// and returns it with its secret. The secret is then tracked like a session
// token: it must appear in no later answer and no log line.
func (e *env) createKey(token, name string, readOnly bool) (apiKeyAnswer, string) {
	e.t.Helper()
	a := e.do(nil, "POST", "/api/v1/api-keys", map[string]any{"name": name, "read_only": readOnly}, bearer(token)...)
	if a.status != http.StatusCreated {
		e.t.Fatalf("create key: %d %s", a.status, a.body)
	}
	var v struct {
		APIKey apiKeyAnswer `json:"api_key"`
		Secret string       `json:"secret"`
	}
	a.decode(e.t, &v)
	if !strings.HasPrefix(v.Secret, v.APIKey.Prefix+"_") {
		e.t.Fatalf("secret does not start with the prefix %q", v.APIKey.Prefix)
	}
	e.mu.Lock()
	e.answers = e.answers[:len(e.answers)-1] // the one answer that shows it
	e.tokens = append(e.tokens, v.Secret)
	e.mu.Unlock()
	return v.APIKey, v.Secret
}

func (e *env) listKeys(hdr ...string) []apiKeyAnswer {
	e.t.Helper()
	a := e.do(nil, "GET", "/api/v1/api-keys", nil, hdr...)
	if a.status != http.StatusOK {
		e.t.Fatalf("list keys: %d %s", a.status, a.body)
	}
	var v struct {
		APIKeys []apiKeyAnswer `json:"api_keys"`
	}
	a.decode(e.t, &v)
	return v.APIKeys
}

func TestAPIKeysAPI(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.com", doorman.RoleAdmin)
	e.user("member@acme.com", doorman.RoleMember)
	adminC := e.browser()
	admin := e.login(adminC, "admin@acme.com", false).Token
	member := e.login(nil, "member@acme.com", false).Token

	e.do(nil, "GET", "/api/v1/api-keys", nil, bearer(member)...).wantError(t, 403, "forbidden")
	e.do(nil, "POST", "/api/v1/api-keys", map[string]any{"name": "x"}, bearer(member)...).wantError(t, 403, "forbidden")
	e.do(nil, "POST", "/api/v1/api-keys", map[string]any{"name": " "}, bearer(admin)...).wantError(t, 400, "invalid")

	prod, secret := e.createKey(admin, "Production API", false)
	test, _ := e.createKey(admin, "Test Key", false)
	ro, roSecret := e.createKey(admin, "Reader", true)
	if prod.LastUsedAt != nil || prod.Requests24h != 0 || prod.CreatedBy != "admin@acme.com" || !strings.HasPrefix(prod.ID, "key_") {
		t.Errorf("new key %+v", prod)
	}

	// The key authenticates; whoami names the key and its account.
	a := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(secret)...)
	if a.status != 200 {
		t.Fatalf("whoami with key: %d %s", a.status, a.body)
	}
	var who struct {
		APIKey  apiKeyAnswer          `json:"api_key"`
		Account struct{ Name string } `json:"account"`
	}
	a.decode(t, &who)
	if who.APIKey.ID != prod.ID || who.Account.Name != "Acme" {
		t.Errorf("whoami with key: %s", a.body)
	}
	// Admin endpoints accept it; personal ones do not; it cannot mint keys.
	if a := e.do(nil, "GET", "/api/v1/team/sessions", nil, bearer(secret)...); a.status != 200 {
		t.Errorf("team sessions with key: %d %s", a.status, a.body)
	}
	e.do(nil, "GET", "/api/v1/sessions", nil, bearer(secret)...).wantError(t, 403, "forbidden")
	e.do(nil, "POST", "/api/v1/logout", nil, bearer(secret)...).wantError(t, 403, "forbidden")
	e.do(nil, "GET", "/auth/verify", nil, bearer(secret)...).wantError(t, 403, "forbidden")
	e.do(nil, "POST", "/api/v1/api-keys", map[string]any{"name": "x"}, bearer(secret)...).wantError(t, 403, "forbidden")
	// A read-only key reads, and gets 403 on unsafe methods.
	if got := e.listKeys(bearer(roSecret)...); len(got) != 3 {
		t.Errorf("read-only key lists %d keys", len(got))
	}
	e.do(nil, "PUT", "/api/v1/settings/sessions", map[string]any{"idle_timeout": "1d", "remember_me_allowed": true, "remember_me_days": 30},
		bearer(roSecret)...).wantError(t, 403, "forbidden")
	e.do(nil, "DELETE", "/api/v1/api-keys/"+test.ID, nil, bearer(roSecret)...).wantError(t, 403, "forbidden")
	// Unknown and malformed keys: 401.
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(secret[:len(secret)-2]+"xx")...).wantError(t, 401, "unauthorized")
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer("dk_nope")...).wantError(t, 401, "unauthorized")

	// Usage shows in the list at once (before any flush), exact under
	// concurrent use.
	e.clock.Advance(time.Minute)
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/whoami", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("User-Agent", "curl/8.5.0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	keys := e.listKeys(bearer(admin)...)
	if len(keys) != 3 || keys[0].ID != prod.ID {
		t.Fatalf("list after use: %+v", keys)
	}
	// 1 whoami + team sessions + 3 refused-by-route + 1 refused create + n.
	if want := int64(n + 6); keys[0].Requests24h != want || keys[0].LastUsedAt == nil || keys[0].LastIP != "127.0.0.1" {
		t.Errorf("used key: %+v, want %d requests", keys[0], want)
	}
	if keys[0].LastClient != "curl/8.5.0" {
		t.Errorf("last client %q", keys[0].LastClient)
	}
	var never apiKeyAnswer
	for _, k := range keys {
		if k.ID == test.ID {
			never = k
		}
	}
	if never.LastUsedAt != nil || never.Requests24h != 0 {
		t.Errorf("unused key %+v", never)
	}
	if err := e.svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if keys := e.listKeys(bearer(admin)...); keys[0].Requests24h != int64(n+6) {
		t.Errorf("after flush: %d", keys[0].Requests24h)
	}

	// Details: 24 hourly buckets, the last holding this hour's requests.
	a = e.do(nil, "GET", "/api/v1/api-keys/"+prod.ID, nil, bearer(admin)...)
	var det struct {
		APIKey apiKeyAnswer `json:"api_key"`
		Hours  []struct {
			Hour     string `json:"hour"`
			Requests int64  `json:"requests"`
		} `json:"hours"`
	}
	a.decode(t, &det)
	// Every request is in the 24 buckets; the n made at the clock's present
	// hour are in the last (the six before may sit in the hour before it,
	// when the test runs across an hour's turn).
	var total int64
	for _, h := range det.Hours {
		total += h.Requests
	}
	if len(det.Hours) != 24 || total != int64(n+6) || det.Hours[23].Requests < int64(n) {
		t.Errorf("details hours: %s", a.body)
	}
	if h, _ := time.Parse(time.RFC3339, det.Hours[23].Hour); !h.Equal(e.clock.Now().UTC().Truncate(time.Hour)) {
		t.Errorf("last hour %s", det.Hours[23].Hour)
	}

	// Another account's admin: 404 for the key, an empty list.
	e.user("root@globex.com", doorman.RoleAdmin, "Globex")
	other := e.login(nil, "root@globex.com", false).Token
	e.do(nil, "GET", "/api/v1/api-keys/"+prod.ID, nil, bearer(other)...).wantError(t, 404, "not_found")
	e.do(nil, "DELETE", "/api/v1/api-keys/"+prod.ID, nil, bearer(other)...).wantError(t, 404, "not_found")
	if got := e.listKeys(bearer(other)...); len(got) != 0 {
		t.Errorf("other account sees %d keys", len(got))
	}

	// Revoke: 204, then the key's next request is 401; the list drops it.
	if a := e.do(nil, "DELETE", "/api/v1/api-keys/"+prod.ID, nil, bearer(admin)...); a.status != 204 {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(secret)...).wantError(t, 401, "unauthorized")
	e.do(nil, "DELETE", "/api/v1/api-keys/"+prod.ID, nil, bearer(admin)...).wantError(t, 404, "not_found")
	for _, k := range e.listKeys(bearer(admin)...) {
		if k.ID == prod.ID {
			t.Error("revoked key listed")
		}
	}
	_ = ro
	acts := e.actions(adminC)
	if acts[doorman.ActionAPIKeyCreated] != 3 || acts[doorman.ActionAPIKeyRevoked] != 1 || acts[doorman.ActionAPIKeyNewIP] < 1 {
		t.Errorf("audit actions %v", acts)
	}
	// No secret in any log line: the log names keys by prefix only.
	if !strings.Contains(e.logs.String(), prod.Prefix) {
		t.Error("the log does not name the key by its prefix")
	}
}
