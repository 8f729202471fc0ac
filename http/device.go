package http

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/doorman/doorman"
)

// deviceCookieMaxAge is how long a browser keeps the device cookie: 400
// days, the longest browsers accept.
const deviceCookieMaxAge = 400 * 24 * 60 * 60

// acceptCH asks browsers for the Client Hints that tell what the User-Agent
// string hides (Windows 11 from 10, the real macOS version, Android models).
const acceptCH = "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model, Sec-CH-UA-Full-Version-List"

func (s *Server) deviceCookieName() string {
	if s.secure && s.cookieDomain != "" {
		return "__Secure-doorman_device" // __Host- forbids the Domain attribute
	}
	if s.secure {
		return "__Host-doorman_device"
	}
	return "doorman_device"
}

// deviceKey returns the browser's device cookie, giving it a new random one
// when it has none (or a malformed one). It recognises the browser across
// sign-ins; the service stores only its hash.
func (s *Server) deviceKey(rq *request, r *http.Request) string {
	if c, err := r.Cookie(s.deviceCookieName()); err == nil && doorman.TokenWellFormed(c.Value) {
		return c.Value
	}
	var b [doorman.TokenBytes]byte
	rand.Read(b[:])
	key := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(rq, &http.Cookie{Name: s.deviceCookieName(), Value: key, Path: "/", Domain: s.cookieDomain,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: deviceCookieMaxAge})
	return key
}

// clientHints reads the User-Agent Client Hints of a request.
func clientHints(r *http.Request) doorman.ClientHints {
	// Indexed by their canonical keys, as net/http stores them: this runs on
	// every validation, and most requests carry none.
	h := r.Header
	if h["Sec-Ch-Ua"] == nil && h["Sec-Ch-Ua-Platform"] == nil {
		return doorman.ClientHints{}
	}
	return doorman.ClientHints{
		Brands:          h.Get("Sec-CH-UA"),
		FullVersionList: h.Get("Sec-CH-UA-Full-Version-List"),
		Mobile:          h.Get("Sec-CH-UA-Mobile"),
		Platform:        h.Get("Sec-CH-UA-Platform"),
		PlatformVersion: h.Get("Sec-CH-UA-Platform-Version"),
		Model:           h.Get("Sec-CH-UA-Model"),
	}
}
