package app

import (
	"context"
	"fmt"

	"github.com/doorman/doorman"
)

// UpdateSettings replaces an account's session settings; they apply to every
// existing session on its next request. A session that has ended, under the
// settings replaced or under the new ones, stays ended: the store records
// its end (by doorman.ActorExpiry) with the change, so loosening the
// settings later never brings it back. by is the admin making the change, or
// nil for an operator command. The audit event records old and new values,
// and its Count how many valid sessions the change ended. EFORBIDDEN for a
// member; another account is ENOTFOUND to an admin; EREAUTH without a
// recent password (requireRecentAuth).
func (s *Service) UpdateSettings(ctx context.Context, by *doorman.Principal, accountID string, set doorman.Settings, m Meta) (*doorman.Account, error) {
	if by != nil && !by.User.IsAdmin() {
		return nil, doorman.Errorf(doorman.EFORBIDDEN, "only an administrator of this account can change its settings")
	}
	if by != nil && by.Account.ID != accountID {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "account not found")
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	if err := s.requireRecentAuth(ctx, by, m.Proof, m); err != nil {
		return nil, err
	}
	acct, err := s.Store.FindAccountByID(ctx, accountID)
	if err != nil {
		return nil, unavailable("update settings", err)
	}
	now := s.now()
	ev := s.event(by, doorman.ActionSettingsUpdated, acct.Name, m, now)
	ev.AccountID = acct.ID
	ev.Details = fmt.Sprintf("idle_timeout=%s->%s remember_me_allowed=%t->%t remember_me_days=%d->%d members_see_sessions=%t->%t end_session_on_failed_proof=%t->%t",
		acct.Settings.IdleTimeout, set.IdleTimeout, acct.Settings.RememberMeAllowed, set.RememberMeAllowed,
		acct.Settings.RememberMeDays, set.RememberMeDays, acct.Settings.MembersSeeSessions, set.MembersSeeSessions,
		acct.Settings.EndSessionOnFailedProof, set.EndSessionOnFailedProof)
	n, err := s.Store.UpdateAccountSettings(ctx, acct.ID, set, now, ev)
	if err != nil {
		return nil, unavailable("update settings", err)
	}
	s.Log.Info("settings updated", "account_id", acct.ID, "sessions_ended", n)
	acct.Settings = set
	return acct, nil
}
