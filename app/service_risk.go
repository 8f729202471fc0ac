package app

import (
	"context"
	"github.com/doorman/doorman"
	"slices"
	"time"
)

// signInRisk runs the risk checks on a session about to be created, against
// its user's history before it (FindUserHistory). The user's first sign-in
// is the baseline and never flagged. A store that cannot answer leaves the
// session unflagged rather than refusing the sign-in: the checks warn, they
// do not guard.
func (s *Service) signInRisk(ctx context.Context, sess *doorman.Session) doorman.Risk {
	h, err := s.Store.FindUserHistory(ctx, sess.AccountID, sess.UserID, sess.CreatedAt)
	if err != nil {
		s.logStoreFailure("risk history unavailable", err, "user_id", sess.UserID)
		return doorman.Risk{Level: doorman.RiskNone}
	}
	r := doorman.AssessRisk(sess, h, sess.CreatedAt)
	if r.Flagged() {
		s.Log.Info("suspicious sign-in", "user_id", sess.UserID, "session_id", sess.ID,
			"risk_level", r.Level, "risk_reasons", r.Reasons)
	}
	return r
}

// readRisk sets each session's Risk as it is at now: the stored checks of
// its sign-in, with old_session judged now (it depends on the instant).
func readRisk(now time.Time, list ...*doorman.Session) {
	for _, sess := range list {
		if sess != nil {
			sess.Risk = sess.Risk.WithOldSession(sess, now)
		}
	}
}

// markFlagged sets Flagged on the members with an active session in w that
// the risk checks flag at now, in one query for the page.
func (s *Service) markFlagged(ctx context.Context, accountID string, members []doorman.TeamMember, w *doorman.ActiveWindow, now time.Time) error {
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if m.Sessions > 0 {
			ids = append(ids, m.User.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	flagged, err := s.Store.FindFlaggedUsers(ctx, accountID, ids, w, now.Add(-doorman.OldSessionAge))
	if err != nil {
		return unavailable("team sessions", err)
	}
	for i := range members {
		members[i].Flagged = slices.Contains(flagged, members[i].User.ID)
	}
	return nil
}

// changeRisk runs the risk checks again on a session whose address or
// device a request changed (ch), against its user's history until now (its
// own earlier addresses and device included). Flags stick: the reasons found
// at sign-in or at an earlier change stay until the session ends. It returns
// nil when the risk is unchanged, or when the store cannot answer (the
// request goes on; the checks warn, they do not guard).
func (s *Service) changeRisk(ctx context.Context, sess *doorman.Session, m Meta, ch change, now time.Time) *doorman.Risk {
	next := *sess
	next.DeviceKeyHash = nil
	if m.DeviceKey != "" {
		next.DeviceKeyHash = doorman.HashDeviceKey(m.DeviceKey)
	}
	if ch.loc != nil {
		next.IP, next.Location = m.IP, *ch.loc
	}
	if ch.dev != nil {
		next.Device = *ch.dev
	}
	h, err := s.Store.FindUserHistory(ctx, sess.AccountID, sess.UserID, now)
	if err != nil {
		s.logStoreFailure("risk history unavailable", err, "user_id", sess.UserID)
		return nil
	}
	found := doorman.AssessRisk(&next, h, now)
	var reasons []string
	for _, c := range append(slices.Clone(sess.Risk.Reasons), found.Reasons...) {
		if c != doorman.ReasonOldSession && !slices.Contains(reasons, c) {
			reasons = append(reasons, c)
		}
	}
	if len(reasons) == len(sess.Risk.Reasons) && slices.Equal(reasons, sess.Risk.Reasons) {
		return nil
	}
	r := doorman.RiskOf(reasons)
	s.Log.Info("suspicious change", "user_id", sess.UserID, "session_id", sess.ID,
		"risk_level", r.Level, "risk_reasons", r.Reasons)
	// The audit log shows the flag where it appeared. The request goes on
	// if it cannot be written: the checks warn, they do not guard.
	ev := s.event(nil, doorman.ActionSessionFlagged, sess.ID, m, now)
	ev.AccountID, ev.Details = sess.AccountID, r.AuditDetails()
	if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
		s.logStoreFailure("session flag not audited", err, "session_id", sess.ID)
	}
	return &r
}
