package app_test

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// ReuseFor gives a valid session's answer the whole reuse window, only what
// is left of the session when it ends sooner, and none to an API key or a
// bound session.
func TestReuseFor(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
		for _, remember := range []bool{false, true} {
			tok, _ := f.signIn(t, "ana@acme.example", remember)
			p, err := f.auth(tok)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.svc.ReuseFor(p); got != doorman.ReuseWindow {
				t.Errorf("remember %v: ReuseFor = %v, want %v", remember, got, doorman.ReuseWindow)
			}
			if !remember {
				continue
			}
			// 20 ms before the remembered session's end: 20 ms, no more.
			end, _ := doorman.Deadline(p.Session, p.Account.Settings)
			f.clock.Advance(end.Sub(f.clock.Now()) - 20*time.Millisecond)
			if p, err = f.auth(tok); err != nil {
				t.Fatal(err)
			}
			if got := f.svc.ReuseFor(p); got != 20*time.Millisecond {
				t.Errorf("20 ms before the end: ReuseFor = %v", got)
			}
			bound := *p.Session
			bound.Binding = &doorman.Binding{Key: "k", Secret: []byte("s")}
			if got := f.svc.ReuseFor(&doorman.Principal{Session: &bound, User: p.User, Account: p.Account}); got != 0 {
				t.Errorf("bound session: ReuseFor = %v, want 0", got)
			}
			key := &doorman.Principal{APIKey: &doorman.APIKey{ID: "key_1"}, User: p.User, Account: p.Account}
			if got := f.svc.ReuseFor(key); got != 0 {
				t.Errorf("API key: ReuseFor = %v, want 0", got)
			}
		}
	})
}
