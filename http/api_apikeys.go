package http

import (
	"net/http"
	"time"

	"github.com/doorman/doorman"
)

// apiKeyRoutes are the API routes an API key may call: the account's admin
// endpoints (read-only keys: only their GETs) and whoami. Everything else,
// the personal session endpoints above all, answers a key 403: a key is not
// a person and has no session.
var apiKeyRoutes = map[string]bool{
	"GET /api/v1/whoami":                         true,
	"GET /api/v1/settings/sessions":              true,
	"PUT /api/v1/settings/sessions":              true,
	"GET /api/v1/team/sessions":                  true,
	"GET /api/v1/team/users/{user_id}/sessions":  true,
	"POST /api/v1/team/users/{user_id}/sign-out": true,
	"POST /api/v1/team/sessions/sign-out-all":    true,
	"GET /api/v1/audit":                          true,
	"GET /api/v1/audit/export":                   true,
	"GET /api/v1/api-keys":                       true,
	"GET /api/v1/api-keys/{id}":                  true,
	"DELETE /api/v1/api-keys/{id}":               true,
	"POST /api/v1/api-keys":                      true, // refused by the Service: keys do not mint keys
}

var (
	errKeyRoute = &doorman.Error{Code: doorman.EFORBIDDEN,
		Message: "API keys cannot use this endpoint: it acts for a signed-in person"}
	errKeyReadOnly = &doorman.Error{Code: doorman.EFORBIDDEN,
		Message: "this API key is read-only"}
)

// keyAllowed returns the error a key's request to rt gets, nil when it may
// pass.
func keyAllowed(k *doorman.APIKey, rt *route) error {
	if !apiKeyRoutes[rt.Pattern()] {
		return errKeyRoute
	}
	if k.ReadOnly && !safeMethod(rt.Method) {
		return errKeyReadOnly
	}
	return nil
}

// apiKeyJSON is one API key as the API shows it; never its secret.
type apiKeyJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"` // null: never used
	Requests24h int64      `json:"requests_24h"`
	ReadOnly    bool       `json:"read_only"`
	CreatedBy   string     `json:"created_by"` // the creator's email
	LastIP      string     `json:"last_ip"`
	LastClient  string     `json:"last_client"` // "curl", "Chrome on macOS"; "" when never used
	RevokedAt   *time.Time `json:"revoked_at"`
}

func newAPIKeyJSON(k *doorman.APIKey) apiKeyJSON {
	v := apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(),
		Requests24h: k.Requests24h, ReadOnly: k.ReadOnly, CreatedBy: k.CreatedByEmail, LastIP: k.LastIP}
	if k.LastUsedAt != nil {
		t := k.LastUsedAt.UTC()
		v.LastUsedAt = &t
		v.LastClient = clientLabel(k)
	}
	if k.RevokedAt != nil {
		t := k.RevokedAt.UTC()
		v.RevokedAt = &t
	}
	return v
}

// clientLabel names the client a key was last used with, as sessions are
// named; the raw User-Agent's product when no browser is recognised.
func clientLabel(k *doorman.APIKey) string {
	if k.LastUserAgent == "" {
		return "Unknown client"
	}
	if k.LastDevice.Browser != "" || k.LastDevice.OS != "" {
		return k.LastDevice.Label()
	}
	ua := k.LastUserAgent
	for i := 0; i < len(ua); i++ {
		if ua[i] == ' ' {
			ua = ua[:i]
			break
		}
	}
	return doorman.CutText(ua, 60)
}

type apiKeyListResponse struct {
	APIKeys []apiKeyJSON `json:"api_keys"`
}

// listAPIKeys is GET /api/v1/api-keys: the account's keys not revoked, most
// recently used first, with Requests/24h.
func (s *Server) listAPIKeys(w *request, r *http.Request) error {
	keys, err := s.svc.APIKeys(r.Context(), w.principal)
	if err != nil {
		return err
	}
	out := apiKeyListResponse{APIKeys: make([]apiKeyJSON, 0, len(keys))}
	for _, k := range keys {
		out.APIKeys = append(out.APIKeys, newAPIKeyJSON(k))
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

type createAPIKeyRequest struct {
	Name     string `json:"name"`
	ReadOnly bool   `json:"read_only"`
	// Password re-authenticates a session signed in over 15 minutes ago.
	Password string `json:"password"`
	// TOTPCode goes with Password for a user with two-factor authentication.
	TOTPCode string `json:"totp_code"`
}

type createAPIKeyResponse struct {
	APIKey apiKeyJSON `json:"api_key"`
	Secret string     `json:"secret"`
}

// createAPIKey is POST /api/v1/api-keys: a new key, whose secret is in this
// answer only.
func (s *Server) createAPIKey(w *request, r *http.Request) error {
	var req createAPIKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	k, secret, err := s.svc.CreateAPIKey(r.Context(), w.principal, req.Name, req.ReadOnly,
		s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, &createAPIKeyResponse{APIKey: newAPIKeyJSON(k), Secret: secret})
	return nil
}

type usageHourJSON struct {
	Hour     time.Time `json:"hour"`
	Requests int64     `json:"requests"`
}

type apiKeyDetailsResponse struct {
	APIKey apiKeyJSON      `json:"api_key"`
	Hours  []usageHourJSON `json:"hours"` // 24, oldest first, the last the current hour
}

// getAPIKey is GET /api/v1/api-keys/{id}: one key (revoked ones too) with
// its requests per hour over the last 24 hours.
func (s *Server) getAPIKey(w *request, r *http.Request) error {
	k, series, err := s.svc.APIKey(r.Context(), w.principal, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := apiKeyDetailsResponse{APIKey: newAPIKeyJSON(k), Hours: make([]usageHourJSON, 0, len(series))}
	for _, h := range series {
		out.Hours = append(out.Hours, usageHourJSON{Hour: h.Hour.UTC(), Requests: h.Requests})
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

// deleteAPIKey is DELETE /api/v1/api-keys/{id}: revoke → 204.
func (s *Server) deleteAPIKey(w *request, r *http.Request) error {
	if err := s.svc.RevokeAPIKey(r.Context(), w.principal, r.PathValue("id"), s.meta(w, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type keyWhoamiResponse struct {
	APIKey  apiKeyJSON  `json:"api_key"`
	Account accountJSON `json:"account"`
}

type accountJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// keyWhoami answers GET /api/v1/whoami for an API key: the key and its
// account (there is no session nor user).
func (s *Server) keyWhoami(w *request) {
	p := w.principal
	writeJSON(w, http.StatusOK, &keyWhoamiResponse{APIKey: newAPIKeyJSON(p.APIKey),
		Account: accountJSON{ID: p.Account.ID, Name: p.Account.Name}})
}
