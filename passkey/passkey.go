// Package passkey does the WebAuthn checks behind Doorman's passkeys, with
// github.com/go-webauthn/webauthn: the options a page hands to
// navigator.credentials, and the verification of what the browser sends
// back (attestation and assertion parsing, COSE keys, signatures, origin,
// relying party id, flags and counters). It implements doorman.WebAuthn.
package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/doorman/doorman"
)

// RP is the relying party of one Doorman deployment: passkeys are bound to
// its id, the host of the base URL, and answers are accepted only from its
// origin.
type RP struct {
	wa *webauthn.WebAuthn
}

var _ doorman.WebAuthn = (*RP)(nil)

// New returns the relying party of base, the server's public URL (the
// --base-url): its host is the relying party id, scheme and host the one
// origin. WebAuthn needs a secure context and a domain, so base must be
// https with a host name, or http://localhost (development and tests).
func New(base *url.URL, displayName string) (*RP, error) {
	if base == nil || base.Host == "" {
		return nil, errors.New("passkey: the base URL is needed: passkeys are bound to its host")
	}
	host := base.Hostname()
	if net.ParseIP(host) != nil {
		// A relying party id is a domain: browsers refuse an address.
		return nil, fmt.Errorf("passkey: the base URL's host %s is an address; passkeys need a domain name (localhost will do for development)", host)
	}
	switch base.Scheme {
	case "https":
	case "http":
		if host != "localhost" {
			return nil, fmt.Errorf("passkey: %s is not a secure context: browsers offer WebAuthn over https only (or http on localhost)", base.Scheme+"://"+base.Host)
		}
	default:
		return nil, fmt.Errorf("passkey: base URL scheme %q is not http or https", base.Scheme)
	}
	if displayName == "" {
		displayName = "Doorman"
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: displayName,
		RPOrigins:     []string{base.Scheme + "://" + base.Host},
		// No attestation: Doorman trusts whichever authenticator the
		// person chose, and asks for no statement that could identify it.
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RP{wa: wa}, nil
}

// ID returns the relying party id (the base URL's host).
func (rp *RP) ID() string { return rp.wa.Config.RPID }

// user is a doorman.PasskeyUser with its credentials, as the library asks.
type user struct {
	u     doorman.PasskeyUser
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.u.Handle }
func (u *user) WebAuthnName() string                       { return u.u.Name }
func (u *user) WebAuthnDisplayName() string                { return u.u.DisplayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newUser(pu doorman.PasskeyUser, have []*doorman.Passkey) (*user, error) {
	u := &user{u: pu}
	for _, pk := range have {
		c, err := credential(pk)
		if err != nil {
			return nil, err
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// credential rebuilds the library's record of pk: the opaque record, with
// the id, key and counter of the columns, which are the truth.
func credential(pk *doorman.Passkey) (webauthn.Credential, error) {
	var c webauthn.Credential
	if len(pk.Credential) > 0 {
		if err := json.Unmarshal(pk.Credential, &c); err != nil {
			return c, fmt.Errorf("passkey: record of %s unreadable: %w", pk.ID, err)
		}
	}
	c.ID, c.PublicKey, c.Authenticator.SignCount = pk.CredentialID, pk.PublicKey, pk.SignCount
	return c, nil
}

// BeginRegistration returns the creation options of a discoverable
// credential with user verification, excluding the credentials user has.
func (rp *RP) BeginRegistration(pu doorman.PasskeyUser, have []*doorman.Passkey) (options, state []byte, err error) {
	u, err := newUser(pu, have)
	if err != nil {
		return nil, nil, err
	}
	creation, session, err := rp.wa.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return marshal(creation, session)
}

// FinishRegistration verifies the browser's attestation response.
func (rp *RP) FinishRegistration(pu doorman.PasskeyUser, have []*doorman.Passkey, state, response []byte) (*doorman.Passkey, error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(state, &session); err != nil {
		return nil, fmt.Errorf("passkey: ceremony state unreadable: %w", err)
	}
	u, err := newUser(pu, have)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, refused("The browser's answer could not be read", err)
	}
	c, err := rp.wa.CreateCredential(u, session, parsed)
	if err != nil {
		return nil, refused("The passkey could not be verified", err)
	}
	if !c.Flags.UserVerified {
		return nil, doorman.Errorf(doorman.EINVALID, "The passkey did not verify you (PIN, fingerprint or face)")
	}
	for _, have := range u.creds {
		if bytes.Equal(have.ID, c.ID) {
			return nil, doorman.Errorf(doorman.ECONFLICT, "This passkey is registered already")
		}
	}
	rec, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &doorman.Passkey{CredentialID: c.ID, PublicKey: c.PublicKey, SignCount: c.Authenticator.SignCount, Credential: rec}, nil
}

// BeginLogin returns the request options of an assertion by one of allow,
// or by any discoverable credential when allow is empty.
func (rp *RP) BeginLogin(allow []*doorman.Passkey) (options, state []byte, err error) {
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	if len(allow) == 0 {
		assertion, session, err = rp.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		var u *user
		if u, err = newUser(doorman.PasskeyUser{Handle: []byte(allow[0].UserID)}, allow); err != nil {
			return nil, nil, err
		}
		assertion, session, err = rp.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	return marshal(assertion, session)
}

// AssertionCredential reads which credential signed response.
func (rp *RP) AssertionCredential(response []byte) (credentialID, userHandle []byte, err error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, nil, refused("The browser's answer could not be read", err)
	}
	return parsed.RawID, parsed.Response.UserHandle, nil
}

// FinishLogin verifies the browser's assertion response, signed by pk.
func (rp *RP) FinishLogin(pu doorman.PasskeyUser, have []*doorman.Passkey, pk *doorman.Passkey, state, response []byte) (*doorman.PasskeyUse, error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(state, &session); err != nil {
		return nil, fmt.Errorf("passkey: ceremony state unreadable: %w", err)
	}
	u, err := newUser(pu, have)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, refused("The browser's answer could not be read", err)
	}
	if !bytes.Equal(parsed.RawID, pk.CredentialID) {
		return nil, doorman.Errorf(doorman.EINVALID, "The passkey could not be verified")
	}
	var c *webauthn.Credential
	if len(session.UserID) == 0 {
		// Discoverable: the user handle the authenticator returns must be
		// the one the credential was made for.
		_, c, err = rp.wa.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
			if !bytes.Equal(handle, u.u.Handle) {
				return nil, errors.New("the user handle is not the passkey's user")
			}
			return u, nil
		}, session, parsed)
	} else {
		c, err = rp.wa.ValidateLogin(u, session, parsed)
	}
	if err != nil {
		return nil, refused("The passkey could not be verified", err)
	}
	if c.Authenticator.CloneWarning {
		return nil, doorman.Errorf(doorman.EINVALID, "The passkey's signature counter went backwards: it may have been copied")
	}
	if !c.Flags.UserVerified {
		return nil, doorman.Errorf(doorman.EINVALID, "The passkey did not verify you (PIN, fingerprint or face)")
	}
	rec, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &doorman.PasskeyUse{SignCount: c.Authenticator.SignCount, Credential: rec}, nil
}

func marshal(options any, session *webauthn.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	return o, s, nil
}

// refused is the EINVALID of an answer that does not verify, saying what
// the library found wrong (never a secret: a name of the failed check).
func refused(msg string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return doorman.Errorf(doorman.EINVALID, "%s: %s", msg, pe.Details)
	}
	return doorman.Errorf(doorman.EINVALID, "%s", msg)
}
