package storetest

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var formTokenTests = []test{
	{"ClaimFinishFind", testFormTokenClaimFinish},
	{"Scope", testFormTokenScope},
	{"Release", testFormTokenRelease},
	{"ClaimConcurrent", testFormTokenConcurrent},
	{"FinishOrRelease", testFormTokenFinishOrRelease},
	{"Purge", testFormTokenPurge},
	{"GoWithSession", testFormTokenSessionPurge},
}

// formHash returns a form token hash made from s.
func formHash(s string) []byte {
	h := sha256.Sum256([]byte("form " + s))
	return h[:]
}

// claim returns an unsaved claim of hash by sess at t, expiring a day later.
func claim(sess *doorman.Session, hash []byte, t time.Time) *doorman.FormToken {
	return &doorman.FormToken{SessionID: sess.ID, Hash: hash, ClaimedAt: t, ExpiresAt: t.Add(day)}
}

func diffFormToken(got, want *doorman.FormToken) diff {
	var d diff
	d.eq("SessionID", got.SessionID, want.SessionID)
	d.eq("Hash", bytes.Equal(got.Hash, want.Hash), true)
	d.time("ClaimedAt", got.ClaimedAt, want.ClaimedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.ptr("DoneAt", got.DoneAt, want.DoneAt)
	d.eq("Outcome", string(got.Outcome), string(want.Outcome))
	d.eq("Page", string(got.Page), string(want.Page))
	d.ptr("PageExpiresAt", got.PageExpiresAt, want.PageExpiresAt)
	return d
}

func testFormTokenClaimFinish(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(a, "ana@example.com"), nil)
	h := formHash("one")
	c := claim(sess, h, at(time.Minute+7*us))
	ok(t, e.s.ClaimFormToken(e.ctx, c), "ClaimFormToken")

	got, err := e.s.FindFormToken(e.ctx, sess.ID, h)
	ok(t, err, "FindFormToken")
	diffFormToken(got, c).report(t, "FindFormToken after the claim")

	// A second claim of the same token, done or not, is refused.
	wantCode(t, e.s.ClaimFormToken(e.ctx, claim(sess, h, at(2*time.Minute))), doorman.ECONFLICT, "ClaimFormToken(again)")

	done := *c
	done.DoneAt = ptr(at(time.Minute + 9*us))
	done.Outcome = []byte("sealed outcome")
	done.Page = []byte("sealed page \x00\xff")
	done.PageExpiresAt = ptr(at(6 * time.Minute))
	// Fields a claim may not change are kept.
	finish := done
	finish.ClaimedAt, finish.ExpiresAt = at(time.Hour), at(time.Hour)
	ok(t, e.s.FinishFormToken(e.ctx, &finish), "FinishFormToken")
	got, err = e.s.FindFormToken(e.ctx, sess.ID, h)
	ok(t, err, "FindFormToken")
	diffFormToken(got, &done).report(t, "FindFormToken after FinishFormToken")

	wantCode(t, e.s.ClaimFormToken(e.ctx, claim(sess, h, at(3*time.Minute))), doorman.ECONFLICT, "ClaimFormToken(done)")
	// A claim is finished once, and once done it cannot be released.
	wantCode(t, e.s.FinishFormToken(e.ctx, &finish), doorman.ENOTFOUND, "FinishFormToken(again)")
	wantCode(t, e.s.ReleaseFormToken(e.ctx, sess.ID, h), doorman.ENOTFOUND, "ReleaseFormToken(done)")
	got, err = e.s.FindFormToken(e.ctx, sess.ID, h)
	ok(t, err, "FindFormToken")
	diffFormToken(got, &done).report(t, "FindFormToken after the refusals")

	// A finish without page keeps none.
	h2 := formHash("two")
	c2 := claim(sess, h2, at(time.Minute))
	ok(t, e.s.ClaimFormToken(e.ctx, c2), "ClaimFormToken(two)")
	c2.DoneAt, c2.Outcome = ptr(at(2*time.Minute)), []byte("o")
	ok(t, e.s.FinishFormToken(e.ctx, c2), "FinishFormToken(two)")
	got, err = e.s.FindFormToken(e.ctx, sess.ID, h2)
	ok(t, err, "FindFormToken(two)")
	diffFormToken(got, c2).report(t, "FindFormToken(two)")
	if got.Page != nil || got.PageExpiresAt != nil {
		t.Errorf("page %q until %v, want none", got.Page, got.PageExpiresAt)
	}

	// A finish without its time is refused.
	h3 := formHash("three")
	ok(t, e.s.ClaimFormToken(e.ctx, claim(sess, h3, at(time.Minute))), "ClaimFormToken(three)")
	wantCode(t, e.s.FinishFormToken(e.ctx, claim(sess, h3, at(time.Minute))), doorman.EINVALID, "FinishFormToken(no DoneAt)")
}

func testFormTokenScope(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s1, s2 := e.session(u, nil), e.session(u, nil)
	other := e.session(e.user(e.account("Other", doorman.DefaultSettings()), "bo@example.com"), nil)
	h := formHash("shared")

	ok(t, e.s.ClaimFormToken(e.ctx, claim(s1, h, at(time.Minute))), "ClaimFormToken(s1)")
	// A claim is the session's: another session's is another claim.
	_, err := e.s.FindFormToken(e.ctx, s2.ID, h)
	wantCode(t, err, doorman.ENOTFOUND, "FindFormToken(s2)")
	wantCode(t, e.s.ReleaseFormToken(e.ctx, s2.ID, h), doorman.ENOTFOUND, "ReleaseFormToken(s2)")
	wantCode(t, e.s.FinishFormToken(e.ctx, &doorman.FormToken{SessionID: other.ID, Hash: h, DoneAt: ptr(at(time.Minute))}),
		doorman.ENOTFOUND, "FinishFormToken(other account's session)")
	ok(t, e.s.ClaimFormToken(e.ctx, claim(s2, h, at(time.Minute))), "ClaimFormToken(s2)")
	ok(t, e.s.ClaimFormToken(e.ctx, claim(other, h, at(time.Minute))), "ClaimFormToken(other)")
	if _, err := e.s.FindFormToken(e.ctx, s1.ID, h); err != nil {
		t.Errorf("FindFormToken(s1) after the others' claims: %v", err)
	}

	// No such session, no such claim, bad input.
	ghost := newSession(u, nil)
	wantCode(t, e.s.ClaimFormToken(e.ctx, claim(ghost, h, at(time.Minute))), doorman.ENOTFOUND, "ClaimFormToken(unknown session)")
	_, err = e.s.FindFormToken(e.ctx, ghost.ID, h)
	wantCode(t, err, doorman.ENOTFOUND, "FindFormToken(unknown session)")
	_, err = e.s.FindFormToken(e.ctx, s1.ID, formHash("never"))
	wantCode(t, err, doorman.ENOTFOUND, "FindFormToken(unknown hash)")
	wantCode(t, e.s.ClaimFormToken(e.ctx, claim(s1, nil, at(time.Minute))), doorman.EINVALID, "ClaimFormToken(no hash)")
	bad := claim(s1, formHash("bad"), at(time.Minute))
	bad.SessionID = "ses_\x00"
	wantCode(t, e.s.ClaimFormToken(e.ctx, bad), doorman.EINVALID, "ClaimFormToken(NUL in id)")
	_, err = e.s.FindFormToken(e.ctx, "ses_\xff", h)
	wantCode(t, err, doorman.EINVALID, "FindFormToken(invalid UTF-8 in id)")
}

func testFormTokenRelease(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(a, "ana@example.com"), nil)
	h := formHash("retry")
	ok(t, e.s.ClaimFormToken(e.ctx, claim(sess, h, at(time.Minute))), "ClaimFormToken")
	ok(t, e.s.ReleaseFormToken(e.ctx, sess.ID, h), "ReleaseFormToken")
	_, err := e.s.FindFormToken(e.ctx, sess.ID, h)
	wantCode(t, err, doorman.ENOTFOUND, "FindFormToken after ReleaseFormToken")
	wantCode(t, e.s.ReleaseFormToken(e.ctx, sess.ID, h), doorman.ENOTFOUND, "ReleaseFormToken(again)")
	// Released, the form may be sent again.
	c := claim(sess, h, at(2*time.Minute))
	ok(t, e.s.ClaimFormToken(e.ctx, c), "ClaimFormToken after ReleaseFormToken")
	got, err := e.s.FindFormToken(e.ctx, sess.ID, h)
	ok(t, err, "FindFormToken")
	diffFormToken(got, c).report(t, "FindFormToken of the second claim")
}

// testFormTokenConcurrent claims one token from many goroutines at once,
// as simultaneous submissions on several nodes do: exactly one claims it.
func testFormTokenConcurrent(t *testing.T, open opener) {
	const workers, rounds = 8, 10
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(a, "ana@example.com"), nil)
	for r := range rounds {
		h := formHash("race " + uniq())
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				<-start
				err := e.s.ClaimFormToken(e.ctx, claim(sess, h, at(time.Duration(w)*us)))
				mu.Lock()
				defer mu.Unlock()
				switch doorman.ErrorCode(err) {
				case "":
					won++
				case doorman.ECONFLICT:
					lost++
				default:
					t.Errorf("round %d, worker %d: ClaimFormToken: %v", r, w, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won != 1 || lost != workers-1 {
			t.Fatalf("round %d: %d claims succeeded and %d were refused, want 1 and %d", r, won, lost, workers-1)
		}
	}
}

// testFormTokenFinishOrRelease races the finish and the release of one
// claim: exactly one of them happens.
func testFormTokenFinishOrRelease(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(a, "ana@example.com"), nil)
	for r := range 10 {
		h := formHash("finish or release " + uniq())
		c := claim(sess, h, at(time.Minute))
		ok(t, e.s.ClaimFormToken(e.ctx, c), "ClaimFormToken")
		var finishErr, releaseErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			f := *c
			f.DoneAt, f.Outcome = ptr(at(2*time.Minute)), []byte("o")
			finishErr = e.s.FinishFormToken(e.ctx, &f)
		})
		wg.Go(func() {
			<-start
			releaseErr = e.s.ReleaseFormToken(e.ctx, sess.ID, h)
		})
		close(start)
		wg.Wait()
		got, err := e.s.FindFormToken(e.ctx, sess.ID, h)
		switch {
		case finishErr == nil && doorman.ErrorCode(releaseErr) == doorman.ENOTFOUND:
			if err != nil || got.DoneAt == nil {
				t.Fatalf("round %d: finished, then FindFormToken = %+v, %v", r, got, err)
			}
		case releaseErr == nil && doorman.ErrorCode(finishErr) == doorman.ENOTFOUND:
			wantCode(t, err, doorman.ENOTFOUND, "FindFormToken after the release")
		default:
			t.Fatalf("round %d: FinishFormToken: %v, ReleaseFormToken: %v; want exactly one to succeed", r, finishErr, releaseErr)
		}
	}
}

func testFormTokenPurge(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(a, "ana@example.com"), nil)
	cutoff := at(10 * time.Hour)
	var gone, kept [][]byte
	for i := range 5 {
		h := formHash("old " + uniq())
		c := claim(sess, h, at(time.Duration(i)*time.Minute))
		c.ExpiresAt = cutoff.Add(-time.Duration(5-i) * time.Minute)
		ok(t, e.s.ClaimFormToken(e.ctx, c), "ClaimFormToken(old)")
		gone = append(gone, h)
	}
	// At the cutoff is not before it; a claim at work expires as any other.
	for _, exp := range []time.Time{cutoff, cutoff.Add(time.Hour)} {
		h := formHash("new " + uniq())
		c := claim(sess, h, at(time.Minute))
		c.ExpiresAt = exp
		ok(t, e.s.ClaimFormToken(e.ctx, c), "ClaimFormToken(new)")
		kept = append(kept, h)
	}
	// Pages: one past its time, one at it, one later.
	pages := map[string]time.Time{"past": cutoff.Add(-us), "at": cutoff, "later": cutoff.Add(time.Minute)}
	hashes := map[string][]byte{}
	for name, until := range pages {
		h := formHash("page " + name + uniq())
		c := claim(sess, h, at(time.Minute))
		c.ExpiresAt = cutoff.Add(day)
		ok(t, e.s.ClaimFormToken(e.ctx, c), "ClaimFormToken(page)")
		c.DoneAt, c.Outcome, c.Page, c.PageExpiresAt = ptr(at(time.Minute)), []byte("o"), []byte("page "+name), ptr(until)
		ok(t, e.s.FinishFormToken(e.ctx, c), "FinishFormToken(page)")
		hashes[name] = h
		kept = append(kept, h)
	}

	// Oldest first, at most limit.
	n, err := e.s.PurgeFormTokens(e.ctx, cutoff, 2)
	ok(t, err, "PurgeFormTokens")
	if n != 2 {
		t.Fatalf("PurgeFormTokens(limit 2) = %d, want 2", n)
	}
	for i, h := range gone {
		_, err := e.s.FindFormToken(e.ctx, sess.ID, h)
		if i < 2 {
			wantCode(t, err, doorman.ENOTFOUND, "FindFormToken(oldest, purged)")
		} else if err != nil {
			t.Errorf("claim %d purged before older ones: %v", i, err)
		}
	}
	n, err = e.s.PurgeFormTokens(e.ctx, cutoff, 100)
	ok(t, err, "PurgeFormTokens")
	if n != 3 {
		t.Errorf("PurgeFormTokens = %d, want the 3 left of 5 expired", n)
	}
	for _, h := range gone {
		_, err := e.s.FindFormToken(e.ctx, sess.ID, h)
		wantCode(t, err, doorman.ENOTFOUND, "FindFormToken(expired)")
	}
	for _, h := range kept {
		if _, err := e.s.FindFormToken(e.ctx, sess.ID, h); err != nil {
			t.Errorf("a claim not expired was purged: %v", err)
		}
	}
	for name, h := range hashes {
		got, err := e.s.FindFormToken(e.ctx, sess.ID, h)
		ok(t, err, "FindFormToken(page)")
		want := "page " + name
		if name == "past" {
			want = ""
		}
		if string(got.Page) != want || string(got.Outcome) != "o" || got.DoneAt == nil {
			t.Errorf("claim with page %s: page %q, outcome %q, done %v; want page %q, the outcome kept", name, got.Page, got.Outcome, got.DoneAt, want)
		}
	}
	if n, err := e.s.PurgeFormTokens(e.ctx, cutoff, 100); err != nil || n != 0 {
		t.Errorf("PurgeFormTokens(again) = %d, %v; want 0", n, err)
	}
	if n, err := e.s.PurgeFormTokens(e.ctx, cutoff.Add(2*day), 0); err != nil || n != 0 {
		t.Errorf("PurgeFormTokens(limit 0) = %d, %v; want 0", n, err)
	}
}

// testFormTokenSessionPurge: a session's claims go with it.
func testFormTokenSessionPurge(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	old := e.session(u, func(s *doorman.Session) { s.ExpiresAt = ptr(at(time.Hour)) })
	live := e.session(u, nil)
	h := formHash("kept")
	ok(t, e.s.ClaimFormToken(e.ctx, claim(old, h, at(time.Minute))), "ClaimFormToken(old)")
	ok(t, e.s.ClaimFormToken(e.ctx, claim(live, h, at(time.Minute))), "ClaimFormToken(live)")
	n, err := e.s.PurgeSessions(e.ctx, at(2*time.Hour), 100)
	ok(t, err, "PurgeSessions")
	if n != 1 {
		t.Fatalf("PurgeSessions = %d, want 1", n)
	}
	_, err = e.s.FindFormToken(e.ctx, old.ID, h)
	wantCode(t, err, doorman.ENOTFOUND, "FindFormToken(purged session)")
	if _, err := e.s.FindFormToken(e.ctx, live.ID, h); err != nil {
		t.Errorf("FindFormToken(live session): %v", err)
	}
}
