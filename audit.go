package doorman

import (
	"context"
	"time"
)

// Audit actions.
const (
	ActionSignIn              = "sign_in"
	ActionSignInFailed        = "sign_in_failed"
	ActionSignOut             = "sign_out"               // a session signed itself out
	ActionSessionRevoked      = "session_revoked"        // one session signed out by its user or an admin
	ActionOtherSessionsRevoke = "other_sessions_revoked" // "Sign Out All Other Sessions"
	ActionUserSessionsRevoked = "user_sessions_revoked"  // forced sign-out of one user
	ActionTeamSessionsRevoked = "team_sessions_revoked"  // "Sign Out All Team Sessions"
	ActionSettingsUpdated     = "settings_updated"
	ActionUserCreated         = "user_created"
	ActionAPIKeyCreated       = "api_key_created"
	ActionAPIKeyRevoked       = "api_key_revoked"
	ActionAPIKeyNewIP         = "api_key_new_ip"       // a key's first use from an address
	ActionAllSessionsRevoked  = "all_sessions_revoked" // "Sign Out All Sessions", this one included
	ActionPasswordChanged     = "password_changed"
	ActionSessionRotated      = "session_rotated" // a new token replaced the session's after a privilege change
	ActionReauthenticated     = "reauthenticated" // the password asked again before a sensitive action
	ActionReauthFailed        = "reauth_failed"   // a wrong password given for re-authentication

	ActionSessionFlagged       = "session_flagged" // a session's new address or device made the risk checks flag it
	ActionTwoFactorEnabled     = "two_factor_enabled"
	ActionTwoFactorDisabled    = "two_factor_disabled"
	ActionRecoveryCodesRenewed = "recovery_codes_regenerated"
	ActionRecoveryCodeUsed     = "recovery_code_used" // in place of a TOTP code, at sign-in or re-authentication

	ActionUserInvited        = "user_invited"        // an admin or operator invited a person by email
	ActionInvitationResent   = "invitation_resent"   // a new invitation link replaced the old one
	ActionInvitationAccepted = "invitation_accepted" // the invited person set a password and signed in
	ActionInvitationRevoked  = "invitation_revoked"  // an invited user removed before accepting
	ActionUserRoleChanged    = "user_role_changed"
	ActionUserRenamed        = "user_renamed"
	ActionUserDisabled       = "user_disabled"
	ActionUserEnabled        = "user_enabled"
	ActionUserRemoved        = "user_removed"
)

// ActorSystem is the actor of operator commands and background jobs.
const ActorSystem = "system"

// AuditEvent is one entry of an account's append-only audit log. It is
// written in the same transaction as what it records; no store offers a way
// to change or delete one except purging by age.
type AuditEvent struct {
	ID        string
	AccountID string // "" when no account is known (a failed sign-in for an unknown email)
	At        time.Time
	ActorID   string // user id, ActorSystem, or "" for an anonymous caller
	Actor     string // the actor's email or ActorSystem, kept as it was at the time
	Action    string
	Target    string // what was acted on: a session id, a user's email, …
	Reason    string
	IP        string
	UserAgent string
	// Count is how many objects the action affected; stores set it for
	// revocations.
	Count int
	// Details holds extra facts as "key=value" text, such as old and new settings.
	Details string
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	AccountID string // required for every person's query
	Action    string
	ActorID   string
	Actor     string // the actor's email
	Target    string
	Since     time.Time // zero: no lower bound (inclusive)
	Until     time.Time // zero: no upper bound (exclusive)
	Limit     int
	Offset    int
}

// auditActions are the actions Doorman records; a filter by any other
// action is a client's mistake.
var auditActions = map[string]bool{
	ActionSignIn: true, ActionSignInFailed: true, ActionSignOut: true, ActionSessionRevoked: true,
	ActionOtherSessionsRevoke: true, ActionUserSessionsRevoked: true, ActionTeamSessionsRevoked: true,
	ActionSettingsUpdated: true, ActionUserCreated: true,
	ActionAPIKeyCreated: true, ActionAPIKeyRevoked: true, ActionAPIKeyNewIP: true,
	ActionAllSessionsRevoked: true, ActionPasswordChanged: true, ActionSessionRotated: true,
	ActionReauthenticated: true, ActionReauthFailed: true,
	ActionSessionFlagged: true, ActionTwoFactorEnabled: true, ActionTwoFactorDisabled: true,
	ActionRecoveryCodesRenewed: true, ActionRecoveryCodeUsed: true,
	ActionSignInAlert: true, ActionSessionReported: true, ActionAlertDelivered: true, ActionAlertUndelivered: true,
	ActionWebhookUpdated: true, ActionWebhookDeleted: true, ActionWebhookTested: true,
}

// KnownAuditAction reports whether action is one Doorman records.
func KnownAuditAction(action string) bool { return auditActions[action] }

// Validate returns EINVALID for a filter no event could match because a
// client sent it wrong: an unknown action, or text that is not ValidText.
// An empty field matches everything and is always valid.
func (f AuditFilter) Validate() error {
	if f.Action != "" && !KnownAuditAction(f.Action) {
		if !ValidText(f.Action) {
			return Errorf(EINVALID, "action is not a known audit action")
		}
		return Errorf(EINVALID, "action %q is not a known audit action", f.Action)
	}
	return ValidateTexts("actor", f.Actor, "actor id", f.ActorID, "target", f.Target)
}

// Validate returns EINVALID when a text field of the event is not
// ValidText, naming the field. Stores check it before writing, so that
// nothing half-written follows from bad bytes.
func (ev *AuditEvent) Validate() error {
	return ValidateTexts("action", ev.Action, "target", ev.Target, "reason", ev.Reason, "actor", ev.Actor,
		"actor id", ev.ActorID, "user agent", ev.UserAgent, "ip", ev.IP, "details", ev.Details)
}

// AuditStore keeps the audit log: append-only, purged only by age. The
// other stores write their events in the transactions of their changes.
type AuditStore interface {
	// CreateAuditEvent appends ev. Returns ECONFLICT if its id is taken.
	CreateAuditEvent(ctx context.Context, ev *AuditEvent) error
	// FindAuditEvents returns matching events newest first (of two at the
	// same instant, the later written first), and how many match without
	// Limit and Offset. An empty AccountID matches every account's events.
	FindAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, int, error)
	// PurgeAuditEvents deletes at most limit events older than before (At
	// before it), oldest first, and returns how many it deleted. It is the
	// only way an event goes: the database refuses every change of an event
	// and every deletion of one at or after its retention cutoff, which this
	// method raises to before (never lowers) in the same transaction.
	PurgeAuditEvents(ctx context.Context, before time.Time, limit int) (int, error)
}
