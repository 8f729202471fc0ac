package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorman/doorman"
)

// DefaultStoreTimeout is how long one store call may take before Doorman
// gives up on it and answers 503: far above a healthy call (a millisecond or
// two), far below TCP's own patience with a database that stopped answering
// (tens of seconds), during which every request would hang.
const DefaultStoreTimeout = 2 * time.Second

// WithDeadline returns store with every call bounded by d (DefaultStoreTimeout
// when d is 0 or less): each method runs under a context that ends d after
// the call, unless the caller's context ends sooner.
//
// A call that fails for any reason other than a *doorman.Error (a deadline,
// a refused or reset connection; the Store contract calls all of them "could
// not answer") returns an error for which IsUnavailable is true, so that the
// request is answered 503 rather than 401 or 500, and is reported to outages
// (when not nil), which logs the outage without flooding the log and counts
// every failure. A call that fails because its caller gave up (the client
// went away) is neither: nothing is wrong with the store.
func WithDeadline(store doorman.Store, d time.Duration, outages *OutageLog) doorman.Store {
	if d <= 0 {
		d = DefaultStoreTimeout
	}
	return &deadlineStore{store: store, timeout: d, outages: outages}
}

// deadlineStore is the doorman.Store that WithDeadline returns.
type deadlineStore struct {
	store   doorman.Store
	timeout time.Duration
	outages *OutageLog
}

var _ doorman.Store = (*deadlineStore)(nil)

// bound returns the context a call runs under, and the call to release
// when it returns: ctx itself (and a nil *callCtx) when ctx ends before the
// store timeout would, as a readiness probe's shorter bound does.
func (st *deadlineStore) bound(ctx context.Context) (context.Context, *callCtx) {
	now := time.Now()
	if dl, ok := ctx.Deadline(); ok && !dl.After(now.Add(st.timeout)) {
		return ctx, nil
	}
	c := &callCtx{Context: ctx, deadline: now.Add(st.timeout)}
	return c, c
}

// callCtx is the context of one bounded store call: ctx with a deadline.
// Unlike context.WithDeadline it arms its timer only when the store asks
// for Done, which a call that may block does (a query, waiting for a
// connection) and a call served from memory does not: SQLite answers most
// session checks from its cache, and there a timer, armed and stopped on
// every request, would cost more than the check itself.
type callCtx struct {
	context.Context // the caller's
	deadline        time.Time

	armed    atomic.Pointer[armedCtx] // set once Done was asked for
	mu       sync.Mutex               // serialises arming and release
	released bool                     // the call returned
}

// armedCtx is a callCtx's context.WithDeadline, made on first need.
type armedCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *callCtx) arm() *armedCtx {
	if a := c.armed.Load(); a != nil {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.armed.Load(); a != nil {
		return a
	}
	ctx, cancel := context.WithDeadline(c.Context, c.deadline)
	if c.released {
		cancel() // asked for after the call returned: nothing may wait on it
	}
	a := &armedCtx{ctx: ctx, cancel: cancel}
	c.armed.Store(a)
	return a
}

// release ends the call: its timer, if armed, stops. Nil is a no-op.
func (c *callCtx) release() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.released = true
	a := c.armed.Load()
	c.mu.Unlock()
	if a != nil {
		a.cancel()
	}
}

// Deadline returns the call's deadline.
func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done arms the timer and returns the channel closed at the deadline, when
// the caller's context ends, or when the call returns.
func (c *callCtx) Done() <-chan struct{} { return c.arm().ctx.Done() }

// Err is that of the armed context; before it is armed, the caller's
// context's, or DeadlineExceeded once the deadline has passed.
func (c *callCtx) Err() error {
	if a := c.armed.Load(); a != nil {
		return a.ctx.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value answers from the armed context once there is one, so that contexts
// derived from the call (and context.AfterFunc) attach to its cancellation
// directly instead of each watching it from a goroutine.
func (c *callCtx) Value(key any) any {
	if a := c.armed.Load(); a != nil {
		return a.ctx.Value(key)
	}
	return c.Context.Value(key)
}

// done classifies the error of a call made under ctx (the call's bounded
// context, not yet released) and reports the outcome to the outage log.
//
// An answer that comes once the deadline has passed is not trusted, even a
// *doorman.Error: a driver interrupted mid-statement may look like an empty
// result ("not found"), and a sign-in must not be refused as a wrong
// password because the database was slow.
func (st *deadlineStore) done(ctx context.Context, err error) error {
	if err == nil {
		st.outages.Success()
		return nil
	}
	cerr := ctx.Err()
	expired := errors.Is(cerr, context.DeadlineExceeded)
	var de *doorman.Error
	if errors.As(err, &de) && de.Code != doorman.EUNAVAILABLE && !expired {
		st.outages.Success() // the store answered: no such row, a conflict
		return err
	}
	if errors.Is(cerr, context.Canceled) {
		return err // the caller gave up; the store may be fine
	}
	switch {
	case de != nil && de.Code != doorman.EUNAVAILABLE:
		// An answer after the deadline, kept as text only: callers read a
		// *doorman.Error in the chain as the store's answer.
		err = fmt.Errorf("%w; the store then answered: %s", context.DeadlineExceeded, err.Error())
	case expired && !errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("%w: %w", err, context.DeadlineExceeded)
	}
	st.outages.Failure(err)
	if IsUnavailable(err) {
		return err
	}
	return &wrappedUnavailable{err}
}

// Close closes the store; it is not bounded, as it waits for nothing remote.
func (st *deadlineStore) Close() error { return st.store.Close() }

// Ping, and every method below, is the store's, bounded as WithDeadline says.
func (st *deadlineStore) Ping(ctx context.Context) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.Ping(bctx))
}

func (st *deadlineStore) CreateAccount(ctx context.Context, a *doorman.Account) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateAccount(bctx, a))
}

func (st *deadlineStore) FindAccountByID(ctx context.Context, id string) (*doorman.Account, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAccountByID(bctx, id)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindAccountByName(ctx context.Context, name string) (*doorman.Account, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAccountByName(bctx, name)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) UpdateAccountSettings(ctx context.Context, id string, s doorman.Settings, now time.Time, ev *doorman.AuditEvent) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.UpdateAccountSettings(bctx, id, s, now, ev)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) CreateUser(ctx context.Context, u *doorman.User, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateUser(bctx, u, ev))
}

func (st *deadlineStore) FindUserByID(ctx context.Context, accountID, id string) (*doorman.User, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindUserByID(bctx, accountID, id)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) UpdateUserPassword(ctx context.Context, accountID, userID, hash string, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.UpdateUserPassword(bctx, accountID, userID, hash, ev))
}

func (st *deadlineStore) FindUsers(ctx context.Context, f doorman.UserFilter) ([]*doorman.User, int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, r1, err := st.store.FindUsers(bctx, f)
	return r0, r1, st.done(bctx, err)
}

func (st *deadlineStore) InviteUser(ctx context.Context, u *doorman.User, inv *doorman.Invitation, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.InviteUser(bctx, u, inv, ev))
}

func (st *deadlineStore) RenewInvitation(ctx context.Context, inv *doorman.Invitation, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.RenewInvitation(bctx, inv, ev))
}

func (st *deadlineStore) FindInvitation(ctx context.Context, hash []byte) (*doorman.Invitation, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindInvitation(bctx, hash)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) AcceptInvitation(ctx context.Context, hash []byte, name, passwordHash string, at time.Time, ev *doorman.AuditEvent) (*doorman.User, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.AcceptInvitation(bctx, hash, name, passwordHash, at, ev)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) UpdateUser(ctx context.Context, accountID, userID string, upd doorman.UserUpdate, ev *doorman.AuditEvent) (*doorman.User, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.UpdateUser(bctx, accountID, userID, upd, ev)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) CreateSession(ctx context.Context, s *doorman.Session, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateSession(bctx, s, ev))
}

func (st *deadlineStore) FindSessionByTokenHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindSessionByTokenHash(bctx, hash)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindSessionByID(ctx context.Context, accountID, id string) (*doorman.Session, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindSessionByID(bctx, accountID, id)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindSessions(ctx context.Context, f doorman.SessionFilter) ([]*doorman.Session, int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, r1, err := st.store.FindSessions(bctx, f)
	return r0, r1, st.done(bctx, err)
}

func (st *deadlineStore) TouchSession(ctx context.Context, id string, t doorman.Touch) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.TouchSession(bctx, id, t))
}

func (st *deadlineStore) ReauthenticateSession(ctx context.Context, accountID, id string, at time.Time, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.ReauthenticateSession(bctx, accountID, id, at, ev))
}

func (st *deadlineStore) FindSessionIPs(ctx context.Context, accountID, sessionID string) ([]*doorman.SessionIP, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindSessionIPs(bctx, accountID, sessionID)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindUserHistory(ctx context.Context, accountID, userID string, before time.Time) (*doorman.RiskHistory, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindUserHistory(bctx, accountID, userID, before)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindFlaggedUsers(ctx context.Context, accountID string, userIDs []string, w *doorman.ActiveWindow, oldBefore time.Time) ([]string, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindFlaggedUsers(bctx, accountID, userIDs, w, oldBefore)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) RevokeSessions(ctx context.Context, f doorman.RevokeFilter, r doorman.Revocation, ev *doorman.AuditEvent) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.RevokeSessions(bctx, f, r, ev)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) PurgeSessions(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.PurgeSessions(bctx, cutoff, limit)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindTeamMembers(ctx context.Context, accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter) ([]doorman.TeamMember, int, int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, r1, r2, err := st.store.FindTeamMembers(bctx, accountID, w, f)
	return r0, r1, r2, st.done(bctx, err)
}

func (st *deadlineStore) CreateAPIKey(ctx context.Context, k *doorman.APIKey, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateAPIKey(bctx, k, ev))
}

func (st *deadlineStore) FindAPIKeyByHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAPIKeyByHash(bctx, hash)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindAPIKeys(ctx context.Context, f doorman.APIKeyFilter) ([]*doorman.APIKey, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAPIKeys(bctx, f)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) RevokeAPIKey(ctx context.Context, accountID, id string, r doorman.Revocation, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.RevokeAPIKey(bctx, accountID, id, r, ev))
}

func (st *deadlineStore) RecordAPIKeyUsage(ctx context.Context, usage []doorman.APIKeyUsage, events []*doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.RecordAPIKeyUsage(bctx, usage, events))
}

func (st *deadlineStore) FindAPIKeyUsage(ctx context.Context, accountID, keyID string, since time.Time) ([]doorman.UsageHour, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAPIKeyUsage(bctx, accountID, keyID, since)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) PurgeAPIKeyUsage(ctx context.Context, before time.Time, limit int) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.PurgeAPIKeyUsage(bctx, before, limit)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) CreateAuditEvent(ctx context.Context, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateAuditEvent(bctx, ev))
}

func (st *deadlineStore) FindAuditEvents(ctx context.Context, f doorman.AuditFilter) ([]*doorman.AuditEvent, int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, r1, err := st.store.FindAuditEvents(bctx, f)
	return r0, r1, st.done(bctx, err)
}

func (st *deadlineStore) PurgeAuditEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.PurgeAuditEvents(bctx, before, limit)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) CreateAlert(ctx context.Context, a *doorman.Alert, ds []*doorman.Delivery, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateAlert(bctx, a, ds, ev))
}

func (st *deadlineStore) FindAlertByTokenHash(ctx context.Context, hash []byte) (*doorman.Alert, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAlertByTokenHash(bctx, hash)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) UseAlert(ctx context.Context, accountID, id string, r doorman.Revocation, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.UseAlert(bctx, accountID, id, r, ev))
}

func (st *deadlineStore) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*doorman.Delivery, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.ClaimDeliveries(bctx, now, leaseUntil, limit)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) RecordDeliveryAttempt(ctx context.Context, id string, a doorman.DeliveryAttempt, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.RecordDeliveryAttempt(bctx, id, a, ev))
}

func (st *deadlineStore) FindDeliveries(ctx context.Context, f doorman.DeliveryFilter) ([]*doorman.Delivery, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindDeliveries(bctx, f)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindWebhook(ctx context.Context, accountID string) (*doorman.Webhook, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindWebhook(bctx, accountID)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) PutWebhook(ctx context.Context, w *doorman.Webhook, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.PutWebhook(bctx, w, ev))
}

func (st *deadlineStore) DeleteWebhook(ctx context.Context, accountID string, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.DeleteWebhook(bctx, accountID, ev))
}

func (st *deadlineStore) PurgeAlerts(ctx context.Context, before time.Time, limit int) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.PurgeAlerts(bctx, before, limit)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindTwoFactor(ctx context.Context, accountID, userID string) (*doorman.TwoFactor, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindTwoFactor(bctx, accountID, userID)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindTwoFactorUsers(ctx context.Context, accountID string, userIDs []string) ([]string, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindTwoFactorUsers(bctx, accountID, userIDs)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) SetPendingTwoFactor(ctx context.Context, accountID, userID, secret string) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.SetPendingTwoFactor(bctx, accountID, userID, secret))
}

func (st *deadlineStore) EnableTwoFactor(ctx context.Context, accountID, userID, secret string, step int64, at time.Time, hashes [][]byte, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.EnableTwoFactor(bctx, accountID, userID, secret, step, at, hashes, ev))
}

func (st *deadlineStore) DisableTwoFactor(ctx context.Context, accountID, userID string, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.DisableTwoFactor(bctx, accountID, userID, ev))
}

func (st *deadlineStore) ReplaceRecoveryCodes(ctx context.Context, accountID, userID string, hashes [][]byte, at time.Time, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.ReplaceRecoveryCodes(bctx, accountID, userID, hashes, at, ev))
}

func (st *deadlineStore) AcceptTOTPStep(ctx context.Context, accountID, userID string, step int64) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.AcceptTOTPStep(bctx, accountID, userID, step))
}

func (st *deadlineStore) UseRecoveryCode(ctx context.Context, accountID, userID string, hash []byte, at time.Time, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.UseRecoveryCode(bctx, accountID, userID, hash, at, ev))
}

func (st *deadlineStore) CreateSignInChallenge(ctx context.Context, c *doorman.SignInChallenge) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateSignInChallenge(bctx, c))
}

func (st *deadlineStore) FindSignInChallenge(ctx context.Context, hash []byte) (*doorman.SignInChallenge, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindSignInChallenge(bctx, hash)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FailSignInChallenge(ctx context.Context, id string) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FailSignInChallenge(bctx, id)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) DeleteSignInChallenge(ctx context.Context, id string) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.DeleteSignInChallenge(bctx, id))
}

func (st *deadlineStore) TakeLimits(ctx context.Context, ls []doorman.Limit, now time.Time) (time.Duration, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.TakeLimits(bctx, ls, now)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindLimitWait(ctx context.Context, ls []doorman.Limit, now time.Time) (time.Duration, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindLimitWait(bctx, ls, now)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) PurgeLimits(ctx context.Context, before time.Time, limit int) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.PurgeLimits(bctx, before, limit)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) CreateSigningKey(ctx context.Context, k *doorman.SigningKey) (*doorman.SigningKey, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.CreateSigningKey(bctx, k)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindSigningKeys(ctx context.Context, minPeriod int64) ([]*doorman.SigningKey, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindSigningKeys(bctx, minPeriod)
	return r0, st.done(bctx, err)
}
