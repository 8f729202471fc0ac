package http_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/demo"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
)

// once returns the one-time form token of the page at path, shown anew.
func (e *env) once(c *http.Client, path string) string {
	e.t.Helper()
	p := e.page(c, "GET", path, nil).wantStatus(http.StatusOK)
	v := attr(p.one("header form input[name=once]"), "value")
	if v == "" {
		e.t.Fatalf("%s: no one-time token in the header's form", path)
	}
	return v
}

// post sends a form as a browser does, to base (a node's URL) with client
// c, and returns the answer, its body parsed. It is safe to call from
// several goroutines: it never fails the test itself.
func post(c *http.Client, base, path string, form url.Values, hdr ...string) (*page, error) {
	req, err := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	p := &page{status: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.root, err = html.Parse(bytes.NewReader(b)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// twice sends the same form twice at once, as a double click whose two
// requests overlap does: to bases[0] and bases[1] (one node twice, or two
// nodes). The answers come back in that order.
func twice(t *testing.T, c *http.Client, bases [2]string, path string, form url.Values, hdr ...string) [2]*page {
	t.Helper()
	var out [2]*page
	var errs [2]error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		wg.Go(func() {
			<-start
			out[i], errs[i] = post(c, bases[i], path, form, hdr...)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("POST %s (%d): %v", path, i, err)
		}
		out[i].t = t
	}
	return out
}

// keySecret returns the secret an API key's page shows, and notes it for
// the leak check: no other answer may hold it.
func (e *env) keySecret(p *page) string {
	e.t.Helper()
	in := p.one("input#secret")
	if in == nil {
		e.t.Fatalf("no secret on the page (status %d):\n%s", p.status, p.body)
	}
	s := attr(in, "value")
	e.mu.Lock()
	e.tokens = append(e.tokens, s)
	e.mu.Unlock()
	return s
}

// dropAnswers forgets the last n answers for the leak check: those that
// show a secret, once or again.
func (e *env) dropAnswers(n int) {
	e.mu.Lock()
	e.answers = e.answers[:len(e.answers)-n]
	e.mu.Unlock()
}

// countKeys returns how many of the API keys page's rows are named name.
func (e *env) countKeys(c *http.Client, name string) int {
	e.t.Helper()
	n := 0
	for _, row := range keyRows(e.page(c, "GET", "/settings/api-keys", nil).wantStatus(http.StatusOK)) {
		if strings.HasPrefix(row, name+" | ") {
			n++
		}
	}
	return n
}

// events counts the audit events of an action, of every account.
func (e *env) events(action string) int {
	e.t.Helper()
	_, n, err := e.store.FindAuditEvents(context.Background(), doorman.AuditFilter{Action: action, Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestCreateAPIKeyTwice: "Create API key" sent twice makes one key. The
// second answer shows the same page, the same secret, as the first (the
// browser shows only the last answer of a double click); once the page is
// no longer kept, the key's details page says which key the form made.
func TestCreateAPIKeyTwice(t *testing.T) {
	e, c := demoEnv(t)
	form := formValues(e.page(c, "GET", "/settings/api-keys", nil).one("form.create-key"))
	form.Set("name", "Deploys")
	before := e.events(doorman.ActionAPIKeyCreated)

	first := e.page(c, "POST", "/settings/api-keys", form).wantStatus(http.StatusCreated)
	second := e.page(c, "POST", "/settings/api-keys", form).wantStatus(http.StatusCreated)
	e.dropAnswers(2)
	secret := e.keySecret(first)
	if again := e.keySecret(second); again != secret || !strings.HasPrefix(secret, "dk_") {
		t.Fatalf("the second answer shows secret %q, the first %q: want the same key", again, secret)
	}
	if cc := second.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page shown again: Cache-Control %q", cc)
	}
	if n := e.countKeys(c, "Deploys"); n != 1 {
		t.Fatalf("%d keys named Deploys, want 1", n)
	}
	if n := e.events(doorman.ActionAPIKeyCreated) - before; n != 1 {
		t.Errorf("%d api_key_created events, want 1", n)
	}
	details := attr(first.all(".group-actions a")[0], "href")
	prefix := first.texts(".secret-card code")[1]

	// After the page's time, the form sent again leads to the key it made.
	e.clock.Advance(doorman.FormReplayWindow + time.Second)
	e.page(c, "POST", "/settings/api-keys", form).wantRedirect(details)
	d := e.page(c, "GET", details, nil).wantStatus(http.StatusOK)
	flash := d.text(".alert-success")
	for _, want := range []string{"Already created", "Deploys", prefix, "shown then, only once"} {
		if !strings.Contains(flash, want) {
			t.Errorf("details flash %q lacks %q", flash, want)
		}
	}
	if n := e.countKeys(c, "Deploys"); n != 1 {
		t.Fatalf("%d keys named Deploys after the third post, want 1", n)
	}

	// A form shown anew makes a new key.
	form = formValues(e.page(c, "GET", "/settings/api-keys", nil).one("form.create-key"))
	form.Set("name", "Deploys")
	e.keySecret(e.page(c, "POST", "/settings/api-keys", form).wantStatus(http.StatusCreated))
	e.dropAnswers(1)
	if n := e.countKeys(c, "Deploys"); n != 2 {
		t.Fatalf("%d keys named Deploys after a new form, want 2", n)
	}
}

// TestSignOutTwice: a second "Sign out" of a session already signed out
// answers as the first did, with success, never an error: the same form
// sent again with the old cookie (a double click), another page's form (a
// second tab), or both clicks at once.
func TestSignOutTwice(t *testing.T) {
	e, c := demoEnv(t)
	home := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	tab := e.page(c, "GET", "/settings/security/password", nil).wantStatus(http.StatusOK)
	u, _ := url.Parse(e.srv.URL)
	cookies := c.Jar.Cookies(u)
	form := formValues(home.one("header form"))

	signedOut := func(what string, a *page) {
		t.Helper()
		a.wantRedirect("/login")
		if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge >= 0 {
			t.Errorf("%s: the session cookie is not cleared", what)
		}
		if got := e.page(c, "GET", "/login", nil).text(".alert-success"); got != "You are signed out." && got != "You signed out." {
			t.Errorf("%s: the sign-in page says %q", what, got)
		}
	}
	before := e.events(doorman.ActionSignOut)
	signedOut("first", e.page(c, "POST", "/logout", form))
	// The browser sends the old cookie again: it had not seen the answer.
	c.Jar.SetCookies(u, cookies)
	signedOut("same form", e.page(c, "POST", "/logout", form))
	c.Jar.SetCookies(u, cookies)
	signedOut("another tab", e.page(c, "POST", "/logout", formValues(tab.one("header form"))))
	if n := e.events(doorman.ActionSignOut) - before; n != 1 {
		t.Errorf("%d sign-out events, want 1", n)
	}

	// Both clicks at once, on a fresh session.
	e.signIn(c, "admin@company.com", false, "")
	form = formValues(e.page(c, "GET", "/settings/security/sessions", nil).one("header form"))
	jarless := &http.Client{CheckRedirect: c.CheckRedirect}
	var hdr []string
	for _, ck := range c.Jar.Cookies(u) {
		hdr = append(hdr, ck.Name+"="+ck.Value)
	}
	both := twice(t, jarless, [2]string{e.srv.URL, e.srv.URL}, "/logout", form, "Cookie", strings.Join(hdr, "; "))
	for i, a := range both {
		a.wantRedirect("/login")
		if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge >= 0 {
			t.Errorf("answer %d: the session cookie is not cleared", i)
		}
	}
	if n := e.events(doorman.ActionSignOut) - before; n != 2 {
		t.Errorf("%d sign-out events after signing out twice at once, want 2 (one per session)", n)
	}
}

// TestSignOutSessionTwiceAtOnce: both clicks of "Sign Out" on another
// session at once sign it out once, and both answers say it is signed out.
func TestSignOutSessionTwiceAtOnce(t *testing.T) {
	e, c := demoEnv(t)
	list := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	link := list.all(".session-action a")[0]
	form := formValues(e.page(c, "GET", attr(link, "href"), nil).wantStatus(http.StatusOK).one("form.confirm-actions"))
	before := e.events(doorman.ActionSessionRevoked)
	both := twice(t, c, [2]string{e.srv.URL, e.srv.URL}, attr(link, "href"), form)
	for _, a := range both {
		a.wantRedirect("/settings/security/sessions")
	}
	if n := e.events(doorman.ActionSessionRevoked) - before; n != 1 {
		t.Errorf("%d session_revoked events, want 1", n)
	}
	if n := len(sessionCards(e.page(c, "GET", "/settings/security/sessions", nil), "others")); n != 2 {
		t.Errorf("%d other sessions left, want 2", n)
	}
}

// TestFormTokenRefused: a form's one-time token is the session's and the
// page's, and ages.
func TestFormTokenRefused(t *testing.T) {
	e, c := demoEnv(t)
	const path = "/settings/security/sessions/sign-out-others"
	form := formValues(e.page(c, "GET", path, nil).wantStatus(http.StatusOK).one("form.confirm-actions"))
	before := e.events(doorman.ActionOtherSessionsRevoke)
	refused := func(what string, v url.Values) {
		t.Helper()
		p := e.page(c, "POST", path, v).wantStatus(http.StatusForbidden)
		if !strings.Contains(p.text("main"), "This form has expired or did not come from this page") {
			t.Errorf("%s: %q", what, p.text("main"))
		}
	}
	for what, edit := range map[string]func(url.Values){
		"no token":   func(v url.Values) { v.Del("once") },
		"altered":    func(v url.Values) { b := []byte(v.Get("once")); b[20] ^= 1; v.Set("once", string(b)) },
		"cut":        func(v url.Values) { v.Set("once", v.Get("once")[:40]) },
		"not base64": func(v url.Values) { v.Set("once", strings.Repeat("*", len(v.Get("once")))) },
	} {
		v := url.Values{"csrf": form["csrf"], "once": form["once"]}
		edit(v)
		refused(what, v)
	}
	// Another session's token, even the same user's, is refused.
	other := e.browser()
	e.signIn(other, "admin@company.com", false, "")
	refused("another session's", url.Values{"csrf": form["csrf"], "once": {e.once(other, "/settings/security/sessions")}})

	// A day later the page's token has expired; a page shown now works.
	e.clock.Advance(doorman.FormTokenTTL)
	refused("a day old", form)
	if n := e.events(doorman.ActionOtherSessionsRevoke) - before; n != 0 {
		t.Fatalf("%d other_sessions_revoked events after refusals", n)
	}
	e.page(c, "POST", path, url.Values{"csrf": form["csrf"], "once": {e.once(c, path)}}).wantRedirect("/settings/security/sessions")
	if n := e.events(doorman.ActionOtherSessionsRevoke) - before; n != 1 {
		t.Errorf("%d other_sessions_revoked events, want 1", n)
	}
}

// TestPasswordChangedTwice: the password form sent twice at once changes
// the password once; both answers give the browser the one new session's
// cookie, whether the second waited for the first or came after its
// change had replaced the session it was sent with.
func TestPasswordChangedTwice(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	u, _ := url.Parse(e.srv.URL)
	old := c.Jar.Cookies(u)
	form := formValues(e.page(c, "GET", "/settings/security/password", nil).wantStatus(http.StatusOK).one("form.settings-form"))
	form.Set("current_password", password)
	form.Set("new_password", "a brand new passphrase")
	form.Set("confirm_password", "a brand new passphrase")
	var hdr []string
	for _, ck := range old {
		hdr = append(hdr, ck.Name+"="+ck.Value)
	}
	jarless := &http.Client{CheckRedirect: c.CheckRedirect}
	both := twice(t, jarless, [2]string{e.srv.URL, e.srv.URL}, "/settings/security/password", form, "Cookie", strings.Join(hdr, "; "))
	var tokens []string
	for i, a := range both {
		a.wantRedirect("/settings/security/password")
		ck := cookieNamed(t, a.header, "doorman_session")
		if ck.Value == "" {
			t.Fatalf("answer %d sets no new session cookie", i)
		}
		e.collectToken(a.header)
		tokens = append(tokens, ck.Value)
	}
	if tokens[0] != tokens[1] {
		t.Errorf("the two answers give two sessions: %q and %q", tokens[0], tokens[1])
	}
	if n := e.events(doorman.ActionPasswordChanged); n != 1 {
		t.Errorf("%d password_changed events, want 1", n)
	}
	// Sent again later with the old cookie, as a browser that lost both
	// answers would: the same cookie again; the new one works.
	sent := e.page(jarless, "POST", "/settings/security/password", form, "Cookie", strings.Join(hdr, "; "))
	sent.wantRedirect("/settings/security/password")
	if ck := cookieNamed(t, sent.header, "doorman_session"); ck.Value != tokens[0] {
		t.Errorf("sent again: cookie %q, want the new session's", ck.Value)
	}
	e.page(jarless, "GET", "/settings/security/sessions", nil, "Cookie", "doorman_session="+tokens[0]).wantStatus(http.StatusOK)
	// Past the page's time, the old cookie has nothing more to get.
	e.clock.Advance(doorman.FormReplayWindow + time.Second)
	e.page(jarless, "POST", "/settings/security/password", form, "Cookie", strings.Join(hdr, "; ")).
		wantRedirect("/login?next=%2Fsettings%2Fsecurity%2Fpassword")
	if n := e.events(doorman.ActionPasswordChanged); n != 1 {
		t.Errorf("%d password_changed events in all, want 1", n)
	}
}

// TestFormSentTwiceAcrossNodes: two Doorman nodes share one store; the same
// form sent to both at once does its action once, on SQLite and on
// PostgreSQL. Both answers are the one answer.
func TestFormSentTwiceAcrossNodes(t *testing.T) {
	testdb.OneDatabase(t, testFormSentTwiceAcrossNodes)
}

func testFormSentTwiceAcrossNodes(t *testing.T, open func() doorman.Store) {
	e := newEnvOn(t, open())
	if _, err := demo.Seed(context.Background(), e.svc, password); err != nil {
		t.Fatal(err)
	}
	// The second node: its own store connection, service and server.
	svc := app.NewService(open(), testHasher)
	svc.Now = e.clock.Now
	svc.Log = slog.New(slog.DiscardHandler)
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = doormanhttp.NewServer(svc, doormanhttp.Config{
		BaseURL: &url.URL{Scheme: "http", Host: srv.Listener.Addr().String()},
		Logger:  svc.Log,
	}).Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	nodes := [2]string{e.srv.URL, srv.URL}

	c := e.browser() // its cookies go to both nodes: they share a host
	e.signIn(c, "admin@company.com", false, "")
	const rounds = 4
	keysBefore, othersBefore := e.events(doorman.ActionAPIKeyCreated), e.events(doorman.ActionOtherSessionsRevoke)
	for r := range rounds {
		form := formValues(e.page(c, "GET", "/settings/api-keys", nil).one("form.create-key"))
		name := "Node key " + string(rune('A'+r))
		form.Set("name", name)
		both := twice(t, c, nodes, "/settings/api-keys", form)
		secrets := make([]string, 2)
		for i, a := range both {
			a.wantStatus(http.StatusCreated)
			secrets[i] = e.keySecret(a)
		}
		if secrets[0] != secrets[1] {
			t.Errorf("round %d: the nodes answered with two keys", r)
		}
		if n := e.countKeys(c, name); n != 1 {
			t.Fatalf("round %d: %d keys named %q, want 1", r, n, name)
		}
	}
	if n := e.events(doorman.ActionAPIKeyCreated) - keysBefore; n != rounds {
		t.Errorf("%d api_key_created events, want %d", n, rounds)
	}

	// A page-state action: both answers lead where the first went.
	form := formValues(e.page(c, "GET", "/settings/security/sessions/sign-out-others", nil).one("form.confirm-actions"))
	both := twice(t, c, nodes, "/settings/security/sessions/sign-out-others", form)
	for _, a := range both {
		a.wantRedirect("/settings/security/sessions")
	}
	if n := e.events(doorman.ActionOtherSessionsRevoke) - othersBefore; n != 1 {
		t.Errorf("%d other_sessions_revoked events, want 1", n)
	}
	flashes := []string{}
	for _, a := range both {
		for _, v := range a.header.Values("Set-Cookie") {
			if k, err := http.ParseSetCookie(v); err == nil && k.Name == "doorman_flash" {
				flashes = append(flashes, k.Value)
			}
		}
	}
	if len(flashes) != 2 || flashes[0] == flashes[1] {
		t.Errorf("flashes %q: want the first's and the second's", flashes)
	}
	if got := e.page(c, "GET", "/settings/security/sessions", nil).text(".alert"); !slices.Contains(
		[]string{"Signed out 3 other sessions.", "Already signed out: your other sessions are signed out."}, got) {
		t.Errorf("flash %q", got)
	}
}

// TestRevokeAPIKeyTwice: revoking a key the account revoked already says it
// is revoked, whether the same form is sent again or another page's; an
// other account's key is not found.
func TestRevokeAPIKeyTwice(t *testing.T) {
	e, c := demoEnv(t)
	href := attr(e.page(c, "GET", "/settings/api-keys", nil).all("table.apikey-table tbody tr th a")[0], "href")
	form := formValues(e.page(c, "GET", href+"/revoke", nil).wantStatus(http.StatusOK).one(".confirm form"))
	before := e.events(doorman.ActionAPIKeyRevoked)
	flash := func() string { return e.page(c, "GET", "/settings/api-keys", nil).text(".alert-success") }

	e.page(c, "POST", href+"/revoke", form).wantRedirect("/settings/api-keys")
	if got := flash(); !strings.HasPrefix(got, "Revoked ") {
		t.Errorf("first: flash %q", got)
	}
	e.page(c, "POST", href+"/revoke", form).wantRedirect("/settings/api-keys")
	if got := flash(); got != "Already revoked." {
		t.Errorf("the same form again: flash %q", got)
	}
	other := formValues(e.page(c, "GET", "/settings/api-keys", nil).one("header form"))
	e.page(c, "POST", href+"/revoke", other).wantRedirect("/settings/api-keys")
	if got := flash(); !strings.HasSuffix(got, ") is revoked.") {
		t.Errorf("another page's form: flash %q", got)
	}
	if n := e.events(doorman.ActionAPIKeyRevoked) - before; n != 1 {
		t.Errorf("%d api_key_revoked events, want 1", n)
	}

	// Another account's admin: not found, revoked or not.
	e.user("bob@acme.example", doorman.RoleAdmin)
	bob := e.browser()
	e.signIn(bob, "bob@acme.example", false, "")
	bf := formValues(e.page(bob, "GET", "/settings/api-keys", nil).one("header form"))
	e.page(bob, "POST", href+"/revoke", bf).wantStatus(http.StatusNotFound)
}
