package deploy_test

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Traefik's documented ForwardAuth options
// (doc.traefik.io/traefik/middlewares/http/forwardauth/). A name outside
// this list is a typo that Traefik would refuse or, worse, ignore.
var forwardAuthOptions = []string{
	"address", "tls", "trustForwardHeader", "authResponseHeaders", "authResponseHeadersRegex",
	"authRequestHeaders", "addAuthCookiesToResponse", "headerField", "forwardBody", "maxBodySize",
	"preserveLocationHeader", "preserveRequestMethod",
}

// TestTraefik checks deploy/traefik against Traefik's documented fields:
// there is no Traefik in the test environment to run it, as nginx and
// Caddy are run.
func TestTraefik(t *testing.T) {
	dyn := parseYAML(t, "traefik/dynamic.yml")
	fa, ok := dyn.at("http", "middlewares", "doorman", "forwardAuth").(yamlMap)
	if !ok {
		t.Fatal("dynamic.yml: no http.middlewares.doorman.forwardAuth")
	}
	for k := range fa {
		if !slices.Contains(forwardAuthOptions, k) {
			t.Errorf("forwardAuth.%s is not a Traefik ForwardAuth option", k)
		}
	}
	if got := fa["address"]; got != "http://"+doormanAddr+"/auth/forward" {
		t.Errorf("forwardAuth.address = %v, want Doorman's /auth/forward", got)
	}
	if got := fa["trustForwardHeader"]; got != "false" {
		t.Errorf("forwardAuth.trustForwardHeader = %v, want false: the client's X-Forwarded-* must not reach Doorman", got)
	}
	if got := fa["authResponseHeaders"]; !sameSet(got, identityHeaders) {
		t.Errorf("forwardAuth.authResponseHeaders = %v, want %v", got, identityHeaders)
	}
	// Without Cookie and Authorization Doorman sees no session; without
	// Accept it cannot tell a page navigation from an API call.
	req, _ := fa["authRequestHeaders"].([]string)
	for _, h := range []string{"Cookie", "Authorization", "Accept", "User-Agent"} {
		if !slices.Contains(req, h) {
			t.Errorf("forwardAuth.authRequestHeaders = %v, want %s in it", req, h)
		}
	}

	strip, _ := dyn.at("http", "middlewares", "doorman-strip", "headers", "customRequestHeaders").(yamlMap)
	for _, h := range identityHeaders {
		if v, ok := strip[h]; !ok || v != `""` {
			t.Errorf("doorman-strip does not remove the client's %s (%v)", h, v)
		}
	}
	if got := dyn.at("http", "routers", "app", "middlewares"); !slices.Equal(asList(got), []string{"doorman-strip", "doorman"}) {
		t.Errorf("routers.app.middlewares = %v, want [doorman-strip doorman]", got)
	}
	for _, h := range []string{"app.example.test", "docs.example.test"} {
		if rule, _ := dyn.at("http", "routers", "app", "rule").(string); !strings.Contains(rule, "Host(`"+h+"`)") {
			t.Errorf("routers.app.rule = %q, want %s in it", rule, h)
		}
	}
	signout, _ := dyn.at("http", "routers", "signout", "rule").(string)
	if !strings.Contains(signout, "Path(`/logout`)") || !strings.Contains(signout, "Path(`/api/v1/logout`)") ||
		dyn.at("http", "routers", "signout", "service") != "doorman" {
		t.Errorf("routers.signout does not send /logout and /api/v1/logout to Doorman: %q", signout)
	}
	servers, _ := dyn.at("http", "services", "doorman", "loadBalancer", "servers").([]yamlMap)
	if len(servers) != 1 || servers[0]["url"] != "http://"+doormanAddr {
		t.Errorf("services.doorman servers = %v, want http://%s", servers, doormanAddr)
	}

	static := parseYAML(t, "traefik/traefik.yml")
	if fh := static.at("entryPoints", "web", "forwardedHeaders"); fh != nil {
		t.Errorf("entryPoints.web.forwardedHeaders = %v: Traefik must set X-Forwarded-For from the connection", fh)
	}
	if got := static.at("providers", "file", "filename"); got != "deploy/traefik/dynamic.yml" {
		t.Errorf("providers.file.filename = %v, want deploy/traefik/dynamic.yml", got)
	}
}

// yamlMap is a mapping of the small YAML subset deploy/traefik is written
// in: block mappings, block sequences of scalars or of mappings, scalars
// (quoted ones keep their quotes unless they are plain strings) and
// comments.
type yamlMap map[string]any

func (m yamlMap) at(path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(yamlMap)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

type yamlLine struct {
	indent int
	text   string
	n      int
}

func parseYAML(t *testing.T, file string) yamlMap {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []yamlLine
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "\t") {
			t.Fatalf("%s:%d: a tab: YAML indents with spaces", file, i+1)
		}
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		lines = append(lines, yamlLine{len(l) - len(strings.TrimLeft(l, " ")), trimmed, i + 1})
	}
	p := &yamlParser{t: t, file: file, lines: lines}
	m := p.mapping(0)
	if p.i != len(lines) {
		t.Fatalf("%s:%d: unexpected indentation", file, lines[p.i].n)
	}
	return m
}

type yamlParser struct {
	t     *testing.T
	file  string
	lines []yamlLine
	i     int
}

func (p *yamlParser) mapping(indent int) yamlMap {
	m := yamlMap{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && !strings.HasPrefix(p.lines[p.i].text, "- ") {
		l := p.lines[p.i]
		k, v, ok := strings.Cut(l.text, ":")
		if !ok {
			p.t.Fatalf("%s:%d: want key: value", p.file, l.n)
		}
		if _, dup := m[k]; dup {
			p.t.Fatalf("%s:%d: %s twice", p.file, l.n, k)
		}
		p.i++
		if v = strings.TrimSpace(v); v != "" {
			m[k] = scalar(v)
			continue
		}
		if p.i >= len(p.lines) || p.lines[p.i].indent < indent ||
			p.lines[p.i].indent == indent && !strings.HasPrefix(p.lines[p.i].text, "- ") {
			m[k] = nil
			continue
		}
		next := p.lines[p.i]
		if strings.HasPrefix(next.text, "- ") {
			m[k] = p.sequence(next.indent)
		} else {
			m[k] = p.mapping(next.indent)
		}
	}
	return m
}

// sequence returns []string for a list of scalars, []yamlMap for a list
// of mappings.
func (p *yamlParser) sequence(indent int) any {
	var scalars []string
	var maps []yamlMap
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && strings.HasPrefix(p.lines[p.i].text, "- ") {
		l := p.lines[p.i]
		item := strings.TrimPrefix(l.text, "- ")
		if strings.Contains(item, ": ") {
			// "- key: value" opens a mapping indented by the dash.
			p.lines[p.i] = yamlLine{indent + 2, item, l.n}
			maps = append(maps, p.mapping(indent+2))
			continue
		}
		scalars = append(scalars, scalar(item))
		p.i++
	}
	if maps != nil {
		return maps
	}
	return scalars
}

// scalar unquotes a double-quoted string, except the empty one, which
// stays `""` so that a test can tell it from a missing value.
func scalar(v string) string {
	if len(v) > 2 && strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
		return v[1 : len(v)-1]
	}
	return v
}

func asList(v any) []string {
	l, _ := v.([]string)
	return l
}

func sameSet(v any, want []string) bool {
	got := slices.Clone(asList(v))
	w := slices.Clone(want)
	slices.Sort(got)
	slices.Sort(w)
	return slices.Equal(got, w)
}
