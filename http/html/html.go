// Package html renders Doorman's pages: the templates and static assets are
// embedded, parsed once into a Renderer, and filled from typed page structs
// (LoginPage, SessionsPage, …) that the http package builds.
//
// The pages work without JavaScript. static/app.js only improves them:
// confirmations open as a <dialog>, times show in the reader's time zone, a
// button copies a session id. Nothing is loaded from elsewhere and nothing
// is inline, so the pages run under a Content-Security-Policy that allows
// scripts and styles from the server's own origin only.
package html

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
)

//go:embed templates/*.html static/*
var files embed.FS

// StaticPrefix is the path under which the static assets are served.
const StaticPrefix = "/static/"

// Asset is one static file, with the hash that versions its URL.
type Asset struct {
	Name        string // "app.css"
	ContentType string
	Body        []byte
	// Hash is the first 16 hex digits of the body's SHA-256: the URL's
	// version and the ETag, so that a changed file is a new URL and the old
	// one may be cached for good.
	Hash string
}

// URL is the asset's versioned path, "/static/app.css?v=…".
func (a *Asset) URL() string { return StaticPrefix + a.Name + "?v=" + a.Hash }

// Renderer holds the parsed templates and the static assets.
type Renderer struct {
	pages  map[string]*template.Template
	assets map[string]*Asset
}

// New parses the embedded templates and reads the static assets. It fails
// only when an embedded file is broken, which the package's tests catch.
func New() (*Renderer, error) {
	r := &Renderer{pages: make(map[string]*template.Template), assets: make(map[string]*Asset)}
	static, err := fs.ReadDir(files, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range static {
		b, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		r.assets[e.Name()] = &Asset{Name: e.Name(), ContentType: contentType(e.Name()), Body: b,
			Hash: hex.EncodeToString(sum[:8])}
	}

	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := r.assets[name]
			if !ok {
				return "", fmt.Errorf("no static asset %q", name)
			}
			return a.URL(), nil
		},
		"plural": plural,
		"wbr":    wbr,
	}
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("html: parse layout: %w", err)
	}
	pagesFiles, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range pagesFiles {
		name := path.Base(f)
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if t, err = t.ParseFS(files, f); err != nil {
			return nil, fmt.Errorf("html: parse %s: %w", name, err)
		}
		r.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return r, nil
}

// Asset returns the static file of that name.
func (r *Renderer) Asset(name string) (*Asset, bool) {
	a, ok := r.assets[name]
	return a, ok
}

// Page is a page struct: it names its template and carries the Layout.
type Page interface {
	template() string
	layout() *Layout
}

// Render writes the page. The page is executed into memory first, so that a
// template error leaves w untouched and the caller can answer with an error
// page instead of half a page.
func (r *Renderer) Render(w io.Writer, p Page) error {
	t, ok := r.pages[p.template()]
	if !ok {
		return fmt.Errorf("html: no template %q", p.template())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("html: render %s: %w", p.template(), err)
	}
	_, err := buf.WriteTo(w)
	return err
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// plural writes a count with its noun: "1 other session", "3 other sessions".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
