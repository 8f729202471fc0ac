package http

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/doorman/doorman"
	pages "github.com/doorman/doorman/http/html"
)

// Flash messages say on the next page what an action did ("Signed out 3
// other sessions") or why a session ended. They travel in a short-lived
// HttpOnly cookie, read and cleared by the next page shown, so that no
// message text is ever put in a URL.

// flashMaxAge bounds how long a message waits for its page: a redirect
// follows at once.
const flashMaxAge = 60

// maxFlash bounds a message's length; the service's messages are short.
const maxFlash = 300

func (s *Server) flashCookieName() string {
	if s.secure {
		return "__Host-doorman_flash" // no subdomain can plant a message
	}
	return "doorman_flash"
}

// setFlash leaves a message for the next page.
func (s *Server) setFlash(rq *request, kind, text string) {
	text = doorman.CutText(text, maxFlash)
	v := base64.RawURLEncoding.EncodeToString([]byte(kind + "\n" + text))
	http.SetCookie(rq, &http.Cookie{Name: s.flashCookieName(), Value: v, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: flashMaxAge})
}

// takeFlash returns the waiting message, if any, and clears it.
func (s *Server) takeFlash(rq *request, r *http.Request) *pages.Flash {
	raw := cookieValue(r.Header["Cookie"], s.flashCookieName())
	if raw == "" {
		return nil
	}
	http.SetCookie(rq, &http.Cookie{Name: s.flashCookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) > maxFlash+16 {
		return nil
	}
	kind, text, ok := strings.Cut(string(b), "\n")
	if !ok || text == "" {
		return nil
	}
	switch kind {
	case pages.FlashSuccess, pages.FlashInfo, pages.FlashError:
	default:
		return nil
	}
	return &pages.Flash{Kind: kind, Text: text}
}
