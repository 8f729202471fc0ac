package app

import (
	"context"

	"github.com/doorman/doorman"
)

// AuditNames are the objects that some audit events name, as they are
// stored now, found in one account. An event whose object is gone (a
// purged session, a deleted invitation) has none here: pages fall back on
// what the event itself recorded.
type AuditNames struct {
	// Users are by email: the users the events target, and those who acted.
	Users map[string]*doorman.User
	// Sessions and APIKeys are by id.
	Sessions map[string]*doorman.Session
	APIKeys  map[string]*doorman.APIKey
}

// AuditNames finds, in the admin's account only, the users, sessions and
// API keys that evs act on (and the users who acted), with one store query
// per kind whatever the number of events. Ids that could not be ids are
// not looked up. EFORBIDDEN for members.
func (s *Service) AuditNames(ctx context.Context, p *doorman.Principal, evs []*doorman.AuditEvent) (*AuditNames, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	var emails, sessionIDs, keyIDs []string
	for _, ev := range evs {
		if ev.ActorID != "" && doorman.IDWellFormed(doorman.PrefixUser, ev.ActorID) && ev.Actor != "" {
			emails = append(emails, doorman.NormalizeEmail(ev.Actor))
		}
		a, _ := doorman.FindAuditAction(ev.Action)
		switch a.Target {
		case doorman.TargetUser:
			if ev.Target != "" {
				emails = append(emails, doorman.NormalizeEmail(ev.Target))
			}
		case doorman.TargetSession:
			if doorman.IDWellFormed(doorman.PrefixSession, ev.Target) {
				sessionIDs = append(sessionIDs, ev.Target)
			}
		case doorman.TargetAPIKey:
			if doorman.IDWellFormed(doorman.PrefixAPIKeyID, ev.Target) {
				keyIDs = append(keyIDs, ev.Target)
			}
		}
	}
	n := &AuditNames{Users: map[string]*doorman.User{}, Sessions: map[string]*doorman.Session{},
		APIKeys: map[string]*doorman.APIKey{}}
	acct := p.Account.ID
	if len(emails) > 0 {
		users, err := s.Store.FindUsersByEmails(ctx, acct, emails)
		if err != nil {
			return nil, unavailable("audit names: users", err)
		}
		for _, u := range users {
			n.Users[u.Email] = u
		}
	}
	if len(sessionIDs) > 0 {
		list, err := s.Store.FindSessionsByIDs(ctx, acct, sessionIDs)
		if err != nil {
			return nil, unavailable("audit names: sessions", err)
		}
		for _, sess := range list {
			n.Sessions[sess.ID] = sess
		}
	}
	if len(keyIDs) > 0 {
		keys, err := s.Store.FindAPIKeysByIDs(ctx, acct, keyIDs)
		if err != nil {
			return nil, unavailable("audit names: api keys", err)
		}
		for _, k := range keys {
			n.APIKeys[k.ID] = k
		}
	}
	return n, nil
}

// AuditEvent returns one event of the admin's account. An id that could
// not be an event's, or another account's event, is ENOTFOUND, so that ids
// cannot be probed. EFORBIDDEN for members.
func (s *Service) AuditEvent(ctx context.Context, p *doorman.Principal, id string) (*doorman.AuditEvent, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	if !doorman.IDWellFormed(doorman.PrefixEvent, id) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "audit event not found")
	}
	ev, err := s.Store.FindAuditEventByID(ctx, p.Account.ID, id)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "audit event not found")
	}
	if err != nil {
		return nil, unavailable("audit event", err)
	}
	return ev, nil
}
