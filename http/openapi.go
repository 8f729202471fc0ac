package http

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPIDocument describes every route in routes; TestOpenAPI keeps the two
// in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

// openAPI is GET /api/v1/openapi.json.
func (s *Server) openAPI(w *request, r *http.Request) error {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = []string{strconv.Itoa(len(openAPIDocument))}
	w.WriteHeader(http.StatusOK)
	w.Write(openAPIDocument)
	return nil
}
