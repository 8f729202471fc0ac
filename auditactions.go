package doorman

// AuditTarget says what an audit event's Target names, so that pages can
// name it in words rather than show an id.
type AuditTarget string

// What an event's Target holds.
const (
	// TargetText is text that reads as it is: a webhook's URL.
	TargetText AuditTarget = "text"
	// TargetUser is a user's email as it was when the event was written,
	// or the email typed at a failed sign-in.
	TargetUser AuditTarget = "user"
	// TargetSession is a session's id.
	TargetSession AuditTarget = "session"
	// TargetAPIKey is an API key's id.
	TargetAPIKey AuditTarget = "api_key"
	// TargetAccount is the account: its name, or its id.
	TargetAccount AuditTarget = "account"
	// TargetDelivery is the id of one delivery of a sign-in alert; the
	// event's details say its channel.
	TargetDelivery AuditTarget = "delivery"
)

// AuditAction describes one action of the audit log.
type AuditAction struct {
	// Code is what the store, the API and the exports carry:
	// "user_sessions_revoked". It never changes.
	Code string
	// Words is what pages show, a past-tense phrase that follows the
	// actor: "Forced sign-out", "Signed in".
	Words string
	// Group is the heading the audit log's filter lists it under.
	Group string
	// Target is what the events' Target names.
	Target AuditTarget
	// OwnRequest marks a session action made by the target session's own
	// request (its sign-in, its sign-out): the event's IP and User-Agent
	// are the session's, and describe it once it is no longer stored.
	OwnRequest bool
}

// Groups of audit actions, in the order the filter lists them.
const (
	AuditGroupSessions = "Sign-in and sessions"
	AuditGroupSecurity = "Passwords and two-factor authentication"
	AuditGroupPeople   = "People"
	AuditGroupSettings = "Session settings"
	AuditGroupAPIKeys  = "API keys"
	AuditGroupAlerts   = "Sign-in alerts and webhook"
)

// AuditActions is every action Doorman records, with its words, in the
// order the audit log's filter lists them: the one table that names them.
// A filter by any other action is a client's mistake (AuditFilter.Validate).
var AuditActions = []AuditAction{
	{ActionSignIn, "Signed in", AuditGroupSessions, TargetSession, true},
	{ActionSignInFailed, "Sign-in failed", AuditGroupSessions, TargetUser, false},
	{ActionSignOut, "Signed out", AuditGroupSessions, TargetSession, true},
	{ActionSessionRevoked, "Signed out a session", AuditGroupSessions, TargetSession, false},
	{ActionOtherSessionsRevoke, "Signed out other sessions", AuditGroupSessions, TargetUser, false},
	{ActionAllSessionsRevoked, "Signed out all sessions", AuditGroupSessions, TargetUser, false},
	{ActionUserSessionsRevoked, "Forced sign-out", AuditGroupSessions, TargetUser, false},
	{ActionTeamSessionsRevoked, "Signed out all team sessions", AuditGroupSessions, TargetAccount, false},
	{ActionSessionRotated, "Session given a new token", AuditGroupSessions, TargetSession, true},
	{ActionReauthenticated, "Confirmed password", AuditGroupSessions, TargetSession, true},
	{ActionReauthFailed, "Password confirmation failed", AuditGroupSessions, TargetUser, false},
	{ActionSessionFlagged, "Session flagged", AuditGroupSessions, TargetSession, true},
	{ActionSessionReported, "Reported a session (This wasn't me)", AuditGroupSessions, TargetSession, false},
	{ActionSessionBound, "Bound a session to its device", AuditGroupSessions, TargetSession, true},
	{ActionDeviceProofFailed, "Device proof failed", AuditGroupSessions, TargetSession, false},

	{ActionPasswordChanged, "Changed password", AuditGroupSecurity, TargetUser, false},
	{ActionPasswordResetRequested, "Password reset requested", AuditGroupSecurity, TargetUser, false},
	{ActionPasswordReset, "Reset password", AuditGroupSecurity, TargetUser, false},
	{ActionTwoFactorEnabled, "Turned on two-factor authentication", AuditGroupSecurity, TargetUser, false},
	{ActionTwoFactorDisabled, "Turned off two-factor authentication", AuditGroupSecurity, TargetUser, false},
	{ActionRecoveryCodesRenewed, "Regenerated recovery codes", AuditGroupSecurity, TargetUser, false},
	{ActionRecoveryCodeUsed, "Used a recovery code", AuditGroupSecurity, TargetUser, false},
	{ActionPasskeyAdded, "Added a passkey", AuditGroupSecurity, TargetText, false},
	{ActionPasskeyRemoved, "Removed a passkey", AuditGroupSecurity, TargetText, false},
	{ActionPasskeyUsed, "Signed in with a passkey", AuditGroupSecurity, TargetText, false},

	{ActionUserCreated, "Added a user", AuditGroupPeople, TargetUser, false},
	{ActionUserInvited, "Invited a person", AuditGroupPeople, TargetUser, false},
	{ActionInvitationResent, "Resent an invitation", AuditGroupPeople, TargetUser, false},
	{ActionInvitationAccepted, "Accepted an invitation", AuditGroupPeople, TargetUser, false},
	{ActionInvitationRevoked, "Revoked an invitation", AuditGroupPeople, TargetUser, false},
	{ActionUserRoleChanged, "Changed a role", AuditGroupPeople, TargetUser, false},
	{ActionUserRenamed, "Renamed a user", AuditGroupPeople, TargetUser, false},
	{ActionUserDisabled, "Disabled a user", AuditGroupPeople, TargetUser, false},
	{ActionUserEnabled, "Enabled a user", AuditGroupPeople, TargetUser, false},
	{ActionUserRemoved, "Removed a user", AuditGroupPeople, TargetUser, false},

	{ActionSettingsUpdated, "Changed session settings", AuditGroupSettings, TargetAccount, false},

	{ActionAPIKeyCreated, "Created an API key", AuditGroupAPIKeys, TargetAPIKey, false},
	{ActionAPIKeyRevoked, "Revoked an API key", AuditGroupAPIKeys, TargetAPIKey, false},
	{ActionAPIKeyNewIP, "API key used from a new IP", AuditGroupAPIKeys, TargetAPIKey, false},

	{ActionSignInAlert, "Sign-in alert sent", AuditGroupAlerts, TargetSession, true},
	{ActionAlertDelivered, "Alert delivered", AuditGroupAlerts, TargetDelivery, false},
	{ActionAlertUndelivered, "Alert delivery failed", AuditGroupAlerts, TargetDelivery, false},
	{ActionWebhookUpdated, "Changed the webhook", AuditGroupAlerts, TargetText, false},
	{ActionWebhookDeleted, "Deleted the webhook", AuditGroupAlerts, TargetAccount, false},
	{ActionWebhookTested, "Sent a webhook test event", AuditGroupAlerts, TargetText, false},
}

// auditActionIndex finds an action of AuditActions by its code.
var auditActionIndex = func() map[string]int {
	m := make(map[string]int, len(AuditActions))
	for i, a := range AuditActions {
		m[a.Code] = i
	}
	return m
}()

// FindAuditAction returns the action of that code; ok is false for a code
// Doorman does not record.
func FindAuditAction(code string) (a AuditAction, ok bool) {
	i, ok := auditActionIndex[code]
	if !ok {
		return AuditAction{}, false
	}
	return AuditActions[i], true
}

// KnownAuditAction reports whether action is one Doorman records.
func KnownAuditAction(action string) bool {
	_, ok := auditActionIndex[action]
	return ok
}
