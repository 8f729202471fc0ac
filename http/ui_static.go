package http

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// static is GET /static/{name}: the stylesheet, script and icon. Pages link
// them as /static/NAME?v=HASH, so an answer for the current hash may be
// cached for good; any other request revalidates against the ETag.
func (s *Server) static(w *request, r *http.Request) error {
	a, ok := s.ui.renderer.Asset(r.PathValue("name"))
	if !ok {
		return errNoRoute
	}
	h := w.Header()
	h["Content-Type"] = []string{a.ContentType}
	h["Etag"] = []string{strconv.Quote(a.Hash)}
	if r.URL.Query().Get("v") == a.Hash {
		h["Cache-Control"] = immutableCache
	} else {
		h["Cache-Control"] = revalidate
	}
	delete(h, "Accept-Ch")
	http.ServeContent(w, r, a.Name, time.Time{}, bytes.NewReader(a.Body))
	return nil
}
