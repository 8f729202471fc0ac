package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	doormanhttp "github.com/doorman/doorman/http"
)

func fmtSscan(s string, v any) (int, error) { return fmt.Sscan(s, v) }

// TestOpenAPIMatchesRoutes fails when a served route is missing from the
// document or the document lists an operation that is not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	a := e.do(nil, "GET", "/api/v1/openapi.json", nil)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %q", a.status, a.header.Get("Content-Type"))
	}
	if !bytes.Equal(a.body, doormanhttp.OpenAPI()) {
		t.Error("the served document is not the embedded one")
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	a.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	var served []string
	for _, r := range e.server.Routes() {
		served = append(served, r.Pattern())
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("route %s is served but not in openapi.json", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(served, p) {
			t.Errorf("openapi.json lists %s, which is not served", p)
		}
	}
	if len(served) < 14 {
		t.Errorf("only %d routes registered", len(served))
	}
}

// TestRoutesAreServed sends every registered route a request and checks
// that the route, not the catch-all, answered.
func TestRoutesAreServed(t *testing.T) {
	e := newEnv(t)
	for _, r := range e.server.Routes() {
		path := strings.ReplaceAll(r.Path, "{id}", "sess_x")
		a := e.do(nil, r.Method, path, nil)
		if a.status == http.StatusMethodNotAllowed {
			t.Errorf("%s: 405", r.Pattern())
		}
		var v errorAnswer
		if json.Unmarshal(a.body, &v) == nil && v.Error.Message == "no such endpoint" {
			t.Errorf("%s: answered by the catch-all", r.Pattern())
		}
		if r.Name == "" {
			t.Errorf("%s has no name", r.Pattern())
		}
	}
}
