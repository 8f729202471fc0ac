package http

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Redirect targets. A relative path on this server is always a place to
// return to after signing in (safeNext). An absolute URL is one only when
// its host is listed in Config.AllowedRedirectHosts, so that Doorman in front
// of several apps can send a person back to the app they came from, and no
// link can make it send anyone to a site of an attacker's choosing.

// CheckCookieDomain returns an error unless domain is a plain DNS name and
// the host of base is domain or a name inside it: a cookie scoped to a
// domain that does not contain the host that sets it is refused by every
// browser, and sign-in would silently never stick.
func CheckCookieDomain(base *url.URL, domain string) error {
	d := strings.ToLower(domain)
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if !validHostName(d) || !strings.Contains(d, ".") || strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("%q is not a domain name such as example.com", domain)
	}
	if base == nil {
		return errors.New("a cookie domain needs a base URL")
	}
	host := strings.ToLower(base.Hostname())
	if host != d && !strings.HasSuffix(host, "."+d) {
		return fmt.Errorf("the base URL's host %q is not %s or inside it", host, d)
	}
	return nil
}

// ParseRedirectHosts parses a comma-separated list of hosts an absolute
// next may lead to: names ("app.example.com"), names with a port
// ("app.example.com:8443"), and "*.example.com" for every name inside
// example.com (not example.com itself).
func ParseRedirectHosts(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		name, port := f, ""
		if h, p, err := net.SplitHostPort(f); err == nil {
			name, port = h, p
			if !validPort(port) {
				return nil, fmt.Errorf("%q: bad port", f)
			}
		}
		check := strings.TrimPrefix(name, "*.")
		if strings.Contains(check, "*") || !validHostName(check) {
			return nil, fmt.Errorf("%q is not a host name, a host:port or *.domain", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// validHostName reports whether h is a lower-case DNS name of non-empty
// labels of letters, digits and hyphens. Anything else (percent escapes,
// brackets, underscores, a trailing dot) has no place in a redirect target.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// allowedRedirect returns the absolute URL v, without its fragment, when it
// may be a target after sign-in, and "" otherwise. Its scheme must be https,
// or http too when httpsOnly is false (Doorman itself served over plain
// HTTP, in development). Its host must match one of hosts: "name" matches
// that name with no port or the scheme's default port, "name:port" only
// that port, "*.domain" any name inside domain. Userinfo, backslashes,
// percent escapes in the authority, control characters and white space are
// refused outright: browsers and URL parsers disagree on them, which is
// what open redirects are made of.
func allowedRedirect(v string, hosts []string, httpsOnly bool) string {
	if len(hosts) == 0 || v == "" || len(v) > 2048 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return ""
		}
	}
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "https":
	case "http":
		if httpsOnly {
			return ""
		}
	default:
		return ""
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.ContainsAny(authority, "@%[]") {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host != authority {
		return ""
	}
	name, port := strings.ToLower(u.Hostname()), u.Port()
	if !validHostName(name) || (port != "" && !validPort(port)) ||
		(strings.HasSuffix(u.Host, ":") && port == "") {
		return ""
	}
	if port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http" {
		port = ""
	}
	if !hostAllowed(name, port, hosts) {
		return ""
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = name
	if port != "" {
		u.Host = name + ":" + port
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// hostAllowed reports whether name with port ("" for the default one)
// matches one of the hosts of ParseRedirectHosts.
func hostAllowed(name, port string, hosts []string) bool {
	for _, h := range hosts {
		hname, hport := h, ""
		if n, p, err := net.SplitHostPort(h); err == nil {
			hname, hport = n, p
		}
		if hport != port {
			continue
		}
		if suffix, ok := strings.CutPrefix(hname, "*"); ok {
			// suffix is ".domain": a name inside it has at least one
			// label more, so "domain" and "evildomain" never match.
			if len(name) > len(suffix) && strings.HasSuffix(name, suffix) {
				return true
			}
			continue
		}
		if name == hname {
			return true
		}
	}
	return false
}

// safeNext returns where to go after signing in: v when it is a path on
// this server (safeNextPath) or an absolute URL on an allowed host
// (allowedRedirect), "" otherwise.
func (s *Server) safeNext(v string) string {
	if strings.HasPrefix(v, "/") {
		return safeNextPath(v)
	}
	return allowedRedirect(v, s.cfg.AllowedRedirectHosts, s.secure)
}
