package app

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/doorman/doorman"
)

// One-time form tokens (doorman.FormTokenStore). A page shown to a session
// carries one token, made here: a version byte, the time the page was made
// (Unix seconds), 256 random bits, and an HMAC-SHA256 of those keyed with
// the session's token hash, so that the token works for that session only
// and its time cannot be moved. A form sends it back with its action; the
// claim that the Store records is the SHA-256 of the token and the action
// (method and path), so that the several forms of one page are claimed
// apart. The first submission's answer is sealed with AES-256-GCM under a
// key derived from the token and the action, which no one stores.

const (
	formTokenVersion = 1
	formTokenRandom  = 32
	formTokenMACLen  = sha256.Size
	formTokenLen     = 1 + 8 + formTokenRandom + formTokenMACLen

	// formTokenSkew is how far in the future a page may seem made: the
	// clocks of the nodes sharing a store may differ by that much.
	formTokenSkew = time.Minute

	// A resubmission that finds the first at work asks the Store again
	// after formWaitStep, doubling up to formWaitMaxStep, for at most
	// formWait in all: the first is a store write or two away from done.
	formWaitStep    = 10 * time.Millisecond
	formWaitMaxStep = 200 * time.Millisecond
	formWait        = 10 * time.Second
)

// Errors of one-time form tokens.
var (
	errFormTokenBad = &doorman.Error{Code: doorman.EFORBIDDEN,
		Message: "This form has expired or did not come from this page. Go back, reload the page and try again."}
	errFormBusy = &doorman.Error{Code: doorman.ECONFLICT,
		Message: "This form was sent twice, and the first is still at work. Reload the page in a moment to see what it did."}
	errNoReplay = &doorman.Error{Code: doorman.ENOTFOUND, Message: "no answer to replay"}
)

// NewFormToken returns a new one-time token for the forms of one page shown
// to p's session. It writes nothing: the token is claimed only when a form
// is sent.
func (s *Service) NewFormToken(p *doorman.Principal) string {
	var b [formTokenLen]byte
	b[0] = formTokenVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(s.now().Unix()))
	rand.Read(b[9 : 9+formTokenRandom]) // crypto/rand.Read never fails
	copy(b[9+formTokenRandom:], formTokenMAC(p.Session.TokenHash, b[:9+formTokenRandom]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func formTokenMAC(sessionHash, msg []byte) []byte {
	m := hmac.New(sha256.New, sessionHash)
	m.Write([]byte("doorman one-time form token v1\n"))
	m.Write(msg)
	return m.Sum(nil)
}

// readFormToken returns the raw token and when its page was made, if token
// is one that NewFormToken made for the session of that token hash.
func readFormToken(sessionHash []byte, token string) (raw []byte, made time.Time, ok bool) {
	if base64.RawURLEncoding.EncodedLen(formTokenLen) != len(token) {
		return nil, time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != formTokenLen || raw[0] != formTokenVersion {
		return nil, time.Time{}, false
	}
	body := raw[:9+formTokenRandom]
	if !hmac.Equal(raw[9+formTokenRandom:], formTokenMAC(sessionHash, body)) {
		return nil, time.Time{}, false
	}
	secs := binary.BigEndian.Uint64(raw[1:9])
	if secs > 1<<62 {
		return nil, time.Time{}, false
	}
	return raw, time.Unix(int64(secs), 0).UTC(), true
}

// FormClaim is a submission's hold on its form's one-time token.
type FormClaim struct {
	// First is set when this submission claimed the token: it does the
	// action, then records its answer with FinishForm, or gives the token
	// back with ReleaseForm when it changed nothing.
	First bool
	// Otherwise, the first submission's answer as FinishForm was given it:
	// Outcome always; Page only within doorman.FormReplayWindow.
	Outcome []byte
	Page    []byte
	// At is when the first submission was answered.
	At time.Time

	sessionID string
	hash      []byte
	key       []byte
}

// claimOf returns the (unclaimed) claim of token for action by the session
// of sessionHash, or errFormTokenBad when the token is not the session's,
// or expired, at now.
func claimOf(sessionID string, sessionHash []byte, token, action string, now time.Time) (*FormClaim, time.Time, error) {
	raw, made, ok := readFormToken(sessionHash, token)
	if !ok {
		return nil, time.Time{}, errFormTokenBad
	}
	expires := made.Add(doorman.FormTokenTTL)
	if !now.Before(expires) || made.After(now.Add(formTokenSkew)) {
		return nil, time.Time{}, errFormTokenBad
	}
	h := sha256.New()
	h.Write([]byte("doorman form claim v1\n" + action + "\n"))
	h.Write(raw)
	k := hmac.New(sha256.New, raw)
	k.Write([]byte("doorman form answer v1\n" + action))
	return &FormClaim{sessionID: sessionID, hash: h.Sum(nil), key: k.Sum(nil)}, expires, nil
}

// ClaimForm claims the one-time token that p's form for action (its method
// and path, "POST /settings/api-keys") was sent with. The first submission
// gets a claim with First set. A resubmission waits while the first is at
// work, and gets its answer; if the first gave the token back meanwhile
// (it changed nothing), the resubmission claims it in its turn. Of
// simultaneous submissions, on any number of nodes, exactly one is First.
//
// Returns EFORBIDDEN for a token that is not one of the session's, or is
// older than doorman.FormTokenTTL; ECONFLICT when the first submission is
// still at work after a while (it may have failed on its way).
func (s *Service) ClaimForm(ctx context.Context, p *doorman.Principal, token, action string) (*FormClaim, error) {
	now := s.now()
	c, expires, err := claimOf(p.Session.ID, p.Session.TokenHash, token, action, now)
	if err != nil {
		return nil, err
	}
	step, deadline := formWaitStep, time.Now().Add(formWait)
	for {
		err := s.Store.ClaimFormToken(ctx, &doorman.FormToken{SessionID: c.sessionID, Hash: c.hash,
			ClaimedAt: now, ExpiresAt: expires})
		if err == nil {
			c.First = true
			return c, nil
		}
		if doorman.ErrorCode(err) != doorman.ECONFLICT {
			return nil, unavailable("claim form", err)
		}
		done, err := s.formAnswer(ctx, c)
		switch {
		case errors.Is(err, errFormGone): // given back meanwhile: claim it
		case errors.Is(err, errFormAtWork):
			if err := sleep(ctx, step); err != nil {
				return nil, err
			}
			step = min(step*2, formWaitMaxStep)
		default:
			return done, err
		}
		if time.Now().After(deadline) {
			return nil, errFormBusy
		}
		now = s.now()
	}
}

// formAnswer's errors when there is no answer (yet).
var (
	errFormAtWork = errors.New("the first submission is at work")
	errFormGone   = errors.New("the form token is not claimed")
)

// formAnswer returns c with the first submission's answer: errFormAtWork
// while there is none yet, errFormGone when the token is not claimed (or
// was given back).
func (s *Service) formAnswer(ctx context.Context, c *FormClaim) (*FormClaim, error) {
	t, err := s.Store.FindFormToken(ctx, c.sessionID, c.hash)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, errFormGone
	}
	if err != nil {
		return nil, unavailable("claim form", err)
	}
	if t.DoneAt == nil {
		return nil, errFormAtWork
	}
	out := *c
	out.At = *t.DoneAt
	aad := c.aad()
	if out.Outcome, err = openAnswer(c.key, aad, t.Outcome); err != nil {
		return nil, fmt.Errorf("claim form: %w", err)
	}
	if t.Page != nil && t.PageExpiresAt != nil && s.now().Before(*t.PageExpiresAt) {
		if out.Page, err = openAnswer(c.key, append(aad, 'p'), t.Page); err != nil {
			return nil, fmt.Errorf("claim form: %w", err)
		}
	}
	return &out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// FinishForm records the answer of the submission that claimed c: outcome,
// kept as long as the token works, and page (may be nil), kept for
// doorman.FormReplayWindow only, both sealed. The action is done whatever
// the client does meanwhile, so this runs even if ctx was cancelled.
func (s *Service) FinishForm(ctx context.Context, c *FormClaim, outcome, page []byte) error {
	if !c.First {
		return errors.New("finish form: not the first submission")
	}
	now := s.now()
	t := &doorman.FormToken{SessionID: c.sessionID, Hash: c.hash, DoneAt: &now}
	var err error
	if t.Outcome, err = sealAnswer(c.key, c.aad(), outcome); err != nil {
		return fmt.Errorf("finish form: %w", err)
	}
	if page != nil {
		if t.Page, err = sealAnswer(c.key, append(c.aad(), 'p'), page); err != nil {
			return fmt.Errorf("finish form: %w", err)
		}
		until := now.Add(doorman.FormReplayWindow)
		t.PageExpiresAt = &until
	}
	return unavailable("finish form", s.Store.FinishFormToken(context.WithoutCancel(ctx), t))
}

// ReleaseForm gives back the token of the submission that claimed c, when
// it changed nothing (a refused input, an error): the form may be sent
// again. It runs even if ctx was cancelled.
func (s *Service) ReleaseForm(ctx context.Context, c *FormClaim) error {
	if !c.First {
		return errors.New("release form: not the first submission")
	}
	return unavailable("release form", s.Store.ReleaseFormToken(context.WithoutCancel(ctx), c.sessionID, c.hash))
}

// ReplayEndedForm returns the first answer to a form sent again by a
// session that the first submission itself ended (revoked by the user
// before that answer was recorded): it signed out, or a privilege change (a
// password change, two-factor authentication turned on) replaced it by a
// new session. The browser may not have seen that
// answer (a double click drops it), and its second submission comes with
// the old session's cookie; the replay gives it what the first answer gave
// (the new session's cookie, the way on). Only within
// doorman.FormReplayWindow of the session's end, only to the holder of
// both the session's token and the page's one-time token.
//
// Returns ENOTFOUND when there is nothing to replay: the token is not a
// session that its user ended so lately, or it never claimed that form
// token, or it ended after the answer. ECONFLICT when the first is still
// at work after a while.
func (s *Service) ReplayEndedForm(ctx context.Context, sessionToken, formToken, action string) (*FormClaim, error) {
	if !doorman.TokenWellFormed(sessionToken) || formToken == "" {
		return nil, errNoReplay
	}
	hash := doorman.HashToken(sessionToken)
	p, err := s.findSession(doorman.WithoutCache(ctx), hash)
	if err != nil {
		if doorman.ErrorCode(err) == doorman.EUNAUTHORIZED {
			return nil, errNoReplay
		}
		return nil, err
	}
	sess, now := p.Session, s.now()
	if sess.RevokedAt == nil || now.Sub(*sess.RevokedAt) > doorman.FormReplayWindow || sess.RevokedBy != sess.UserID {
		return nil, errNoReplay
	}
	c, _, err := claimOf(sess.ID, sess.TokenHash, formToken, action, now)
	if err != nil {
		return nil, errNoReplay
	}
	deadline, step := time.Now().Add(formWait), formWaitStep
	for {
		// A claim at work is one whose answer is on its way; none means
		// the session ended otherwise (another tab signed it out).
		done, err := s.formAnswer(ctx, c)
		if errors.Is(err, errFormGone) {
			return nil, errNoReplay
		}
		if err == nil && sess.RevokedAt.After(done.At) {
			// Ended after the answer, so not by it: from another device.
			return nil, errNoReplay
		}
		if !errors.Is(err, errFormAtWork) {
			return done, err
		}
		if time.Now().After(deadline) {
			return nil, errFormBusy
		}
		if err := sleep(ctx, step); err != nil {
			return nil, err
		}
		step = min(step*2, formWaitMaxStep)
	}
}

// PurgeFormTokens deletes, in batches of batch, the claims of form tokens
// that expired formTokenSkew ago and more (so that no node whose clock is
// behind still accepts one of them), and clears the pages kept past
// doorman.FormReplayWindow. It returns how many claims it deleted.
func (s *Service) PurgeFormTokens(ctx context.Context, batch int) (int, error) {
	before := s.now().Add(-formTokenSkew)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeFormTokens(ctx, before, limit) })
}

func (c *FormClaim) aad() []byte {
	return append([]byte(c.sessionID+"\n"), c.hash...)
}

// sealAnswer returns plain sealed with AES-256-GCM under key, bound to aad:
// a random nonce, then the ciphertext and its tag.
func sealAnswer(key, aad, plain []byte) ([]byte, error) {
	aead, err := answerAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, aad), nil
}

func openAnswer(key, aad, sealed []byte) ([]byte, error) {
	aead, err := answerAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("open answer: too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("open answer: %w", err)
	}
	return plain, nil
}

func answerAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
