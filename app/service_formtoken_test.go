package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// TestClaimForm: the first submission of a page's token for an action
// claims it; a resubmission gets the first answer, waiting for it while the
// first is at work; a token given back may be claimed again.
func TestClaimForm(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
		_, p := f.signIn(t, "ana@acme.example", false)
		ctx := context.Background()
		token := f.svc.NewFormToken(p)

		first, err := f.svc.ClaimForm(ctx, p, token, "POST /a")
		if err != nil || !first.First {
			t.Fatalf("ClaimForm = %+v, %v; want the first claim", first, err)
		}
		// The same page's token is claimed apart for another form.
		if other, err := f.svc.ClaimForm(ctx, p, token, "POST /b"); err != nil || !other.First {
			t.Fatalf("ClaimForm(another action) = %+v, %v; want a first claim", other, err)
		}
		// A resubmission while the first is at work waits for its answer.
		var second *app.FormClaim
		var secondErr error
		var wg sync.WaitGroup
		wg.Go(func() { second, secondErr = f.svc.ClaimForm(ctx, p, token, "POST /a") })
		if err := f.svc.FinishForm(ctx, first, []byte("went to /x"), []byte("the page")); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if secondErr != nil || second.First || string(second.Outcome) != "went to /x" || string(second.Page) != "the page" {
			t.Fatalf("resubmission: %+v, %v; want the first answer", second, secondErr)
		}
		if err := f.svc.FinishForm(ctx, second, nil, nil); err == nil {
			t.Error("a resubmission recorded an answer")
		}
		// The page is kept for a while, the outcome as long as the token.
		f.clock.Advance(doorman.FormReplayWindow)
		later, err := f.svc.ClaimForm(ctx, p, token, "POST /a")
		if err != nil || later.First || string(later.Outcome) != "went to /x" || later.Page != nil {
			t.Fatalf("resubmission after the window: %+v, %v; want the outcome alone", later, err)
		}

		// A token given back (the first changed nothing) is claimed anew,
		// also by a resubmission that was waiting for it.
		token = f.svc.NewFormToken(p)
		c, err := f.svc.ClaimForm(ctx, p, token, "POST /a")
		if err != nil || !c.First {
			t.Fatalf("ClaimForm = %+v, %v", c, err)
		}
		wg.Go(func() { second, secondErr = f.svc.ClaimForm(ctx, p, token, "POST /a") })
		if err := f.svc.ReleaseForm(ctx, c); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if secondErr != nil || !second.First {
			t.Fatalf("after the release: %+v, %v; want the first claim", second, secondErr)
		}

		// Refused: a token of another session, a forged or cut one, one a
		// day old, one from a clock far ahead.
		_, q := f.signIn(t, "ana@acme.example", false)
		for what, tok := range map[string]string{
			"another session's": f.svc.NewFormToken(q),
			"empty":             "",
			"cut":               token[:len(token)-1],
			"altered":           token[:10] + string(token[10]^1) + token[11:],
		} {
			_, err := f.svc.ClaimForm(ctx, p, tok, "POST /a")
			wantCode(t, what, err, doorman.EFORBIDDEN)
		}
		old := f.svc.NewFormToken(p)
		f.clock.Advance(doorman.FormTokenTTL - time.Second)
		if c, err := f.svc.ClaimForm(ctx, p, old, "POST /a"); err != nil || !c.First {
			t.Fatalf("a token a second short of its age: %+v, %v", c, err)
		}
		f.clock.Advance(time.Second)
		_, err = f.svc.ClaimForm(ctx, p, old, "POST /b")
		wantCode(t, "a day old", err, doorman.EFORBIDDEN)
		f.clock.Advance(2 * time.Minute)
		ahead := f.svc.NewFormToken(p)
		f.clock.Advance(-2 * time.Minute)
		_, err = f.svc.ClaimForm(ctx, p, ahead, "POST /a")
		wantCode(t, "made two minutes ahead", err, doorman.EFORBIDDEN)

		// Expired claims are purged, a skew after their end.
		f.clock.Advance(doorman.FormTokenTTL + 2*time.Minute)
		n, err := f.svc.PurgeFormTokens(ctx, 1)
		if err != nil || n != 4 {
			t.Errorf("PurgeFormTokens = %d, %v; want the 4 claims made", n, err)
		}
	})
}

// TestClaimFormConcurrent: of many simultaneous submissions of one token,
// exactly one is first; every other gets its answer.
func TestClaimFormConcurrent(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
		_, p := f.signIn(t, "ana@acme.example", false)
		ctx := context.Background()
		const workers = 8
		for r := range 5 {
			token := f.svc.NewFormToken(p)
			var mu sync.Mutex
			firsts, answers := 0, 0
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range workers {
				wg.Go(func() {
					<-start
					c, err := f.svc.ClaimForm(ctx, p, token, "POST /settings/api-keys")
					if err != nil {
						t.Errorf("round %d: ClaimForm: %v", r, err)
						return
					}
					if c.First {
						if err := f.svc.FinishForm(ctx, c, []byte("done"), nil); err != nil {
							t.Errorf("round %d: FinishForm: %v", r, err)
						}
					}
					mu.Lock()
					defer mu.Unlock()
					if c.First {
						firsts++
					} else if string(c.Outcome) == "done" {
						answers++
					}
				})
			}
			close(start)
			wg.Wait()
			if firsts != 1 || answers != workers-1 {
				t.Fatalf("round %d: %d first and %d answered, want 1 and %d", r, firsts, answers, workers-1)
			}
		}
	})
}

// TestReplayEndedForm: a form sent again with the cookie of a session that
// its first submission ended gets the first answer, within the window, and
// only then.
func TestReplayEndedForm(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
		ctx := context.Background()
		tok, p := f.signIn(t, "ana@acme.example", false)
		token := f.svc.NewFormToken(p)
		c, err := f.svc.ClaimForm(ctx, p, token, "POST /logout")
		if err != nil || !c.First {
			t.Fatal(c, err)
		}
		// A live session has nothing to replay.
		_, err = f.svc.ReplayEndedForm(ctx, tok, token, "POST /logout")
		wantCode(t, "live session", err, doorman.ENOTFOUND)
		if err := f.svc.SignOut(ctx, p, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.FinishForm(ctx, c, []byte("to /login"), []byte("cookie")); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.ReplayEndedForm(ctx, tok, token, "POST /logout")
		if err != nil || string(got.Outcome) != "to /login" || string(got.Page) != "cookie" {
			t.Fatalf("ReplayEndedForm = %+v, %v; want the first answer", got, err)
		}
		// Another session token: the first character changed, never to itself.
		noSuch := "x" + tok[1:]
		if tok[0] == 'x' {
			noSuch = "y" + tok[1:]
		}
		for what, args := range map[string][3]string{
			"another action":     {tok, token, "POST /settings/api-keys"},
			"another form token": {tok, f.svc.NewFormToken(p), "POST /logout"},
			"no such session":    {noSuch, token, "POST /logout"},
		} {
			_, err := f.svc.ReplayEndedForm(ctx, args[0], args[1], args[2])
			wantCode(t, what, err, doorman.ENOTFOUND)
		}
		f.clock.Advance(doorman.FormReplayWindow + time.Second)
		_, err = f.svc.ReplayEndedForm(ctx, tok, token, "POST /logout")
		wantCode(t, "after the window", err, doorman.ENOTFOUND)

		// A session ended after the answer (from another device) replays
		// nothing: the answer did not end it.
		tok, p = f.signIn(t, "ana@acme.example", false)
		_, other := f.signIn(t, "ana@acme.example", false)
		token = f.svc.NewFormToken(p)
		if c, err = f.svc.ClaimForm(ctx, p, token, "POST /settings/api-keys"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.FinishForm(ctx, c, []byte("o"), []byte("secret page")); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
		if err := f.svc.RevokeSession(ctx, other, p.Session.ID, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.ReplayEndedForm(ctx, tok, token, "POST /settings/api-keys")
		wantCode(t, "ended from another device after the answer", err, doorman.ENOTFOUND)
	})
}
