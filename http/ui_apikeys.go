package http

import (
	"net/http"

	"github.com/doorman/doorman"
	pages "github.com/doorman/doorman/http/html"
)

// apiKeysPage is GET /settings/api-keys: the guide's "API Sessions" table
// and the form that creates a key.
func (s *Server) apiKeysPage(w *request, r *http.Request) error {
	return s.renderAPIKeys(w, r, http.StatusOK, "", false, "")
}

func (s *Server) renderAPIKeys(w *request, r *http.Request, status int, name string, readOnly bool, msg string) error {
	keys, err := s.svc.APIKeys(r.Context(), w.principal)
	if err != nil {
		return err
	}
	now := s.now()
	page := &pages.APIKeysPage{Layout: s.layout(w, r, "API keys"), Name: name, ReadOnly: readOnly, Error: msg}
	for _, k := range keys {
		page.Keys = append(page.Keys, pages.NewAPIKey(k, clientLabel(k), now))
	}
	s.render(w, r, status, page)
	return nil
}

// createAPIKeySubmit is POST /settings/api-keys. Its answer is the page
// that shows the secret, this once: no redirect, so that the secret is in
// no URL, flash cookie or later page, and Cache-Control: no-store keeps it
// out of the browser's cache. The form sent again (a double click, a
// reload) creates no second key: it gets this page again, or, after
// doorman.FormReplayWindow, the key's details page.
func (s *Server) createAPIKeySubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	name, readOnly := r.PostForm.Get("name"), r.PostForm.Get("read_only") != ""
	k, secret, err := s.svc.CreateAPIKey(r.Context(), w.principal, name, readOnly, s.meta(w, r))
	if s.reauthFirst(w, r, err, pages.PathAPIKeys) {
		return nil
	}
	if doorman.ErrorCode(err) == doorman.EINVALID {
		_, _, msg := errorStatus(err)
		return s.renderAPIKeys(w, r, http.StatusBadRequest, name, readOnly, sentence(msg)+" No key was created.")
	} else if err != nil {
		return err
	}
	// The form sent again shows this page again for a few minutes (it is
	// kept sealed under the form's one-time token, ui_once.go), then this.
	w.onceAgain("Already created: API key "+k.Name+" ("+k.Prefix+") was made by the first click. "+
		"Its secret was shown then, only once; if you did not copy it, revoke the key and create another.", pages.APIKeyPath(k.ID))
	w.Header()["Cache-Control"] = []string{"no-store"}
	s.render(w, r, http.StatusCreated, &pages.APIKeyCreatedPage{Layout: s.layout(w, r, "API key created"),
		Key: pages.NewAPIKey(k, "", s.now()), Secret: secret})
	return nil
}

// apiKeyPage is GET /settings/api-keys/{id}: "View API Key Details".
func (s *Server) apiKeyPage(w *request, r *http.Request) error {
	k, series, err := s.svc.APIKey(r.Context(), w.principal, r.PathValue("id"))
	if err != nil {
		return keyPageError(err)
	}
	s.render(w, r, http.StatusOK, &pages.APIKeyPage{Layout: s.layout(w, r, k.Name+" · API key"),
		Key: pages.NewAPIKey(k, clientLabel(k), s.now()), Chart: pages.NewChart(series)})
	return nil
}

var errKeyGone = &doorman.Error{Code: doorman.ENOTFOUND, Message: "This API key does not exist, or it was already revoked."}

func keyPageError(err error) error {
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return errKeyGone
	}
	return err
}

// revokeAPIKeyPage is GET /settings/api-keys/{id}/revoke: the confirmation.
func (s *Server) revokeAPIKeyPage(w *request, r *http.Request) error {
	k, _, err := s.svc.APIKey(r.Context(), w.principal, r.PathValue("id"))
	if err == nil && k.Revoked() {
		err = errKeyGone
	}
	if err != nil {
		return keyPageError(err)
	}
	s.render(w, r, http.StatusOK, &pages.RevokeAPIKeyPage{Layout: s.layout(w, r, "Revoke API Key?"),
		Key: pages.NewAPIKey(k, clientLabel(k), s.now())})
	return nil
}

// revokeAPIKeySubmit is POST /settings/api-keys/{id}/revoke. A key of the
// account revoked already is not an error: the goal is met.
func (s *Server) revokeAPIKeySubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	k, _, err := s.svc.APIKey(r.Context(), w.principal, id)
	if err != nil {
		return keyPageError(err)
	}
	err = s.svc.RevokeAPIKey(r.Context(), w.principal, id, s.meta(w, r))
	if doorman.ErrorCode(err) == doorman.ENOTFOUND && (k.Revoked() || s.keyRevoked(w, r, id)) {
		s.setFlash(w, pages.FlashSuccess, k.Name+" ("+k.Prefix+") is revoked.")
		s.redirect(w, r, pages.PathAPIKeys)
		return nil
	}
	if err != nil {
		return keyPageError(err)
	}
	s.setFlash(w, pages.FlashSuccess, "Revoked "+k.Name+" ("+k.Prefix+"). Its next request gets 401.")
	s.redirect(w, r, pages.PathAPIKeys)
	return nil
}

// keyRevoked reports whether the account's key id is revoked now (another
// request revoked it meanwhile).
func (s *Server) keyRevoked(w *request, r *http.Request, id string) bool {
	k, _, err := s.svc.APIKey(r.Context(), w.principal, id)
	return err == nil && k.Revoked()
}
