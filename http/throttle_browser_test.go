package http_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
)

// submitLogin types a password into the tab's sign-in form, submits it and
// returns the status and Retry-After of the page that answered.
func (b *tab) submitLogin(email, pw string) (int64, string) {
	b.t.Helper()
	eval[bool](b, `(document.querySelector("#email").value = "", true)`)
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), pw))
	var resp network.EventResponseReceived
	submit := chromedp.WaitEvent(network.ResponseReceived, func(ev network.EventResponseReceived) bool {
		return ev.Type == network.ResourceTypeDocument
	}, chromedp.Click(chromedp.CSS("form[action='/login'] button[type=submit]")))
	capture := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		r, err := submit(ctx, tg)
		resp = r
		return chromedp.Void{}, err
	})
	run(b, chromedp.WaitEvent(cdppage.LoadEventFired, nil, capture))
	retry, _ := resp.Response.Headers["Retry-After"].(string)
	if retry == "" {
		retry, _ = resp.Response.Headers["retry-after"].(string)
	}
	return resp.Response.Status, retry
}

// TestThrottleBrowser: in Chromium, wrong passwords typed again and again
// end on the sign-in page's "too many attempts" message, answered 429 with
// Retry-After; the right password is refused too until the wait is over.
func TestThrottleBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	browser := startBrowser(t, path)
	a := newTab(t, browser, e.srv.URL, macChrome)

	a.navigate("/login")
	for i := range 5 {
		status, _ := a.submitLogin("ana@acme.example", "wrong password!")
		if got := a.dom().text("#login-error"); status != 401 || got != "Invalid email or password." {
			t.Fatalf("attempt %d: %d %q", i+1, status, got)
		}
	}
	status, retry := a.submitLogin("ana@acme.example", "wrong password!")
	p := a.dom()
	if got := p.text("#login-error"); got != "Too many sign-in attempts. Try again in 12 seconds." {
		t.Errorf("after 6 attempts the page says %q", got)
	}
	if status != 429 || retry != "12" {
		t.Errorf("after 6 attempts: status %d, Retry-After %q; want 429, 12", status, retry)
	}
	if attr(p.one("#password"), "aria-invalid") != "true" || p.one("#email") == nil {
		t.Error("the form is not shown again with the error")
	}
	// The right password waits its turn too.
	if status, _ := a.submitLogin("ana@acme.example", password); status != 429 {
		t.Errorf("the right password while throttled: %d, want 429", status)
	}
	if got := a.path(); got != "/login" {
		t.Errorf("throttled sign-in went on to %q", got)
	}
}
