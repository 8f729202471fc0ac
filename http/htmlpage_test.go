package http_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// page is one answer of the web interface, its body parsed as HTML.
type page struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
	root   *html.Node
}

// page sends one request as a browser would and parses the answer. form,
// when not nil, is posted URL-encoded; hdr are header name, value pairs.
func (e *env) page(c *http.Client, method, path string, form url.Values, hdr ...string) *page {
	e.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = e.browser()
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	// The sign-in answer and those of the privilege changes (a password
	// change, two-factor authentication turned on) alone set a token.
	if method != "POST" || (path != "/login" && path != "/settings/security/password" && path != "/settings/security/two-factor/confirm") {
		var h bytes.Buffer
		resp.Header.Write(&h)
		e.mu.Lock()
		e.answers = append(e.answers, h.String()+"\n"+string(b))
		e.mu.Unlock()
	}
	p := &page{t: e.t, status: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.root, err = html.Parse(bytes.NewReader(b)); err != nil {
			e.t.Fatalf("%s %s: parse HTML: %v", method, path, err)
		}
	}
	return p
}

// wantStatus fails the test unless the answer has that status.
func (p *page) wantStatus(status int) *page {
	p.t.Helper()
	if p.status != status {
		p.t.Fatalf("status %d, want %d; body:\n%s", p.status, status, p.body)
	}
	return p
}

// wantRedirect checks for a 303 to a path and returns the Location.
func (p *page) wantRedirect(path string) string {
	p.t.Helper()
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || loc != path {
		p.t.Fatalf("answer %d to %q, want 303 to %q; body:\n%s", p.status, loc, path, p.body)
	}
	return loc
}

// all returns the elements matching sel outside <template> contents, in
// document order.
func (p *page) all(sel string) []*html.Node {
	p.t.Helper()
	if p.root == nil {
		p.t.Fatalf("not an HTML answer: %s %s", p.header.Get("Content-Type"), p.body)
	}
	return queryAll(p.root, sel)
}

// one returns the single element matching sel, failing the test when there
// is none or more than one.
func (p *page) one(sel string) *html.Node {
	p.t.Helper()
	return only(p.t, p.all(sel), sel)
}

// text is the whitespace-normalised text of the single element matching sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	return textOf(p.one(sel))
}

// texts are the texts of every element matching sel.
func (p *page) texts(sel string) []string {
	p.t.Helper()
	var out []string
	for _, n := range p.all(sel) {
		out = append(out, textOf(n))
	}
	return out
}

func only(t *testing.T, ns []*html.Node, sel string) *html.Node {
	t.Helper()
	if len(ns) != 1 {
		t.Fatalf("%d elements match %q, want 1", len(ns), sel)
	}
	return ns[0]
}

// within returns the elements under n (its <template> contents included
// when n is a template) that match sel.
func within(n *html.Node, sel string) []*html.Node {
	return queryAll(n, sel)
}

// queryAll matches a small CSS subset: compound selectors of a tag, #id,
// .class and [attr], [attr=value] (value optionally quoted), joined by
// spaces (descendant) or " > " (child). Contents of <template> elements
// below root are skipped, as browsers do not render them.
func queryAll(root *html.Node, sel string) []*html.Node {
	steps := parseSelector(sel)
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && matchSteps(c, root, steps) {
				out = append(out, c)
			}
			if c.Type == html.ElementNode && c.Data == "template" {
				continue
			}
			walk(c)
		}
	}
	walk(root)
	return out
}

type compound struct {
	tag     string
	id      string
	classes []string
	attrs   [][2]string // name, value; value "\x00" means present
	child   bool        // joined to the previous step by ">"
}

func parseSelector(sel string) []compound {
	var steps []compound
	child := false
	for _, f := range strings.Fields(sel) {
		if f == ">" {
			child = true
			continue
		}
		c := compound{child: child}
		child = false
		for f != "" {
			switch f[0] {
			case '#', '.':
				end := strings.IndexAny(f[1:], "#.[")
				if end < 0 {
					end = len(f) - 1
				}
				if f[0] == '#' {
					c.id = f[1 : end+1]
				} else {
					c.classes = append(c.classes, f[1:end+1])
				}
				f = f[end+1:]
			case '[':
				end := strings.IndexByte(f, ']')
				if end < 0 {
					panic("bad selector " + sel)
				}
				name, value, ok := strings.Cut(f[1:end], "=")
				if !ok {
					value = "\x00"
				}
				c.attrs = append(c.attrs, [2]string{name, strings.Trim(value, `"'`)})
				f = f[end+1:]
			default:
				end := strings.IndexAny(f, "#.[")
				if end < 0 {
					end = len(f)
				}
				c.tag, f = f[:end], f[end:]
			}
		}
		steps = append(steps, c)
	}
	return steps
}

func matchSteps(n, root *html.Node, steps []compound) bool {
	if len(steps) == 0 || !matchCompound(n, steps[len(steps)-1]) {
		return false
	}
	last := steps[len(steps)-1]
	rest := steps[:len(steps)-1]
	if len(rest) == 0 {
		return true
	}
	for a := n.Parent; a != nil && a != root; a = a.Parent {
		if a.Type == html.ElementNode && matchSteps(a, root, rest) {
			return true
		}
		if last.child {
			return false
		}
	}
	return false
}

func matchCompound(n *html.Node, c compound) bool {
	if c.tag != "" && c.tag != "*" && n.Data != c.tag {
		return false
	}
	if c.id != "" && attr(n, "id") != c.id {
		return false
	}
	for _, cl := range c.classes {
		if !hasClass(n, cl) {
			return false
		}
	}
	for _, a := range c.attrs {
		v, ok := attrOK(n, a[0])
		if !ok || (a[1] != "\x00" && v != a[1]) {
			return false
		}
	}
	return true
}

func attrOK(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// attr returns n's attribute value, "" when it has none.
func attr(n *html.Node, name string) string {
	v, _ := attrOK(n, name)
	return v
}

func hasAttr(n *html.Node, name string) bool {
	_, ok := attrOK(n, name)
	return ok
}

func hasClass(n *html.Node, class string) bool {
	return strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

// textOf is n's text content with runs of white space made one space.
// Text inside .visually-hidden counts: screen readers read it.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// visibleText is textOf without the .visually-hidden parts.
func visibleText(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && hasClass(n, "visually-hidden") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// formValues returns the values a browser would submit for form (hidden
// inputs and checked boxes).
func formValues(form *html.Node) url.Values {
	v := url.Values{}
	for _, in := range queryAll(form, "input[name]") {
		switch attr(in, "type") {
		case "checkbox", "radio":
			if hasAttr(in, "checked") {
				v.Add(attr(in, "name"), attr(in, "value"))
			}
		default:
			v.Add(attr(in, "name"), attr(in, "value"))
		}
	}
	return v
}

// allElements returns every element of the page, <template> contents
// included.
func (p *page) allElements() []*html.Node {
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode {
				out = append(out, c)
			}
			walk(c)
		}
	}
	walk(p.root)
	return out
}
