package http_test

import (
	"net/http"
	"testing"

	"github.com/doorman/doorman"
)

// A body sent as a form (what an HTML form on another site could post) is
// refused before it is read; JSON, with or without parameters, is accepted.
func TestJSONBodiesOnly(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	body := `{"email":"ana@acme.example","password":"` + password + `"}`
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "json"} {
		e.do(nil, "POST", "/api/v1/login", body, "Content-Type", ct).wantError(t, http.StatusUnsupportedMediaType, "invalid")
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/merge-patch+json"} {
		if a := e.do(nil, "POST", "/api/v1/login", body, "Content-Type", ct); a.status != http.StatusOK {
			t.Errorf("Content-Type %q: %d %s", ct, a.status, a.body)
		}
	}
}
