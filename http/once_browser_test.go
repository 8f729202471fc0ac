package http_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/demo"
	"github.com/doorman/doorman/internal/testdb"
)

// gatedStore holds CreateAPIKey until the test opens the gate, so that a
// double click's second request surely comes while the first is at work,
// and counts the claims of form tokens: one per form sent.
type gatedStore struct {
	doorman.Store
	claims  atomic.Int32
	claimed chan struct{} // a send for each claim
	mu      sync.Mutex
	gate    chan struct{}
}

func (g *gatedStore) ClaimFormToken(ctx context.Context, t *doorman.FormToken) error {
	g.claims.Add(1)
	select {
	case g.claimed <- struct{}{}:
	default:
	}
	return g.Store.ClaimFormToken(ctx, t)
}

func (g *gatedStore) CreateAPIKey(ctx context.Context, k *doorman.APIKey, ev *doorman.AuditEvent) error {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.CreateAPIKey(ctx, k, ev)
}

// doubleClick clicks twice at the center of the element, as a person's
// double click does: two presses, the second with a click count of 2, the
// second once the first click's request reached the server (between a
// person's two clicks, the browser sends the first).
func (b *tab) doubleClick(sel string, sent <-chan struct{}) {
	b.t.Helper()
	b.do(chromedp.ScrollIntoView(chromedp.CSS(sel)))
	xy := eval[[]float64](b, `(() => { const r = document.querySelector(`+"`"+sel+"`"+`).getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
	b.do(chromedp.MouseClickXY(xy[0], xy[1]))
	select {
	case <-sent:
	case <-b.ctx.Done():
		b.t.Fatal("the first click sent nothing")
	}
	b.do(chromedp.MouseClickXY(xy[0], xy[1], chromedp.ClickCount(2)))
}

// TestDoubleClickBrowser: a double click on "Create API key" in Chromium,
// while the first request is still at work, makes one key and shows its
// secret. With the page's script the second click sends nothing; without
// it the browser sends the form twice and shows the second answer, which
// is the first's page again.
func TestDoubleClickBrowser(t *testing.T) {
	path := chromiumPath(t)
	store := &gatedStore{Store: testdb.SQLite(t), claimed: make(chan struct{}, 4)}
	e := newEnvOn(t, store)
	if _, err := demo.Seed(context.Background(), e.svc, password); err != nil {
		t.Fatal(err)
	}
	browser := startBrowser(t, path)
	for _, tc := range []struct {
		name    string
		scripts bool
		sent    int32
	}{
		{"Scripted deploys", true, 1},
		{"Plain deploys", false, 2},
	} {
		a := newTab(t, browser, e.srv.URL, macChrome)
		if !tc.scripts {
			a.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled,
					emulation.SetScriptExecutionDisabledParams{Value: true})
				return err
			}))
		}
		a.navigate("/settings/api-keys")
		a.signIn("admin@company.com", false)
		a.do(chromedp.SendKeys(chromedp.CSS("#key-name"), tc.name))

		gate := make(chan struct{})
		store.mu.Lock()
		store.gate = gate
		store.mu.Unlock()
		before := store.claims.Load()
		for len(store.claimed) > 0 {
			<-store.claimed
		}
		// The second request, if any, comes while the first waits at the
		// gate; then the first may go on, and the tab loads an answer.
		run(a, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Func(func(context.Context, *chromedp.Target) error {
			a.doubleClick("form.create-key button[type=submit]", store.claimed)
			close(gate)
			return nil
		})))
		if got := a.dom().text("h1"); got != "API key created" {
			t.Fatalf("%s: after the double click: at %q, h1 %q", tc.name, a.path(), got)
		}
		store.mu.Lock()
		store.gate = nil
		store.mu.Unlock()
		secret := attr(a.dom().one("input#secret"), "value")
		if !strings.HasPrefix(secret, "dk_") {
			t.Fatalf("%s: secret %q", tc.name, secret)
		}
		e.mu.Lock()
		e.tokens = append(e.tokens, secret)
		e.mu.Unlock()
		// With the script, exactly once. Without it, the browser sends the
		// form for the first click and again for the double click, one to
		// three times more as its event timing falls: at least twice is what
		// makes the server's guarantee the one that counts.
		if sent := store.claims.Load() - before; tc.scripts && sent != tc.sent || !tc.scripts && sent < tc.sent {
			t.Errorf("%s: the browser sent the form %d times, want %s%d", tc.name, sent, map[bool]string{true: "", false: "at least "}[tc.scripts], tc.sent)
		}
		a.navigate("/settings/api-keys")
		n := 0
		for _, row := range keyRows(a.dom()) {
			if strings.HasPrefix(row, tc.name+" | ") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d keys after a double click, want 1", tc.name, n)
		}
	}
}
