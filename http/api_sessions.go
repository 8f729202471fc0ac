package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/doorman/doorman"
)

// sessionJSON is the session object of the API (spec/API.md).
type sessionJSON struct {
	ID             string       `json:"id"`
	Current        bool         `json:"current"`
	Label          string       `json:"label"`
	Browser        string       `json:"browser"`
	BrowserVersion string       `json:"browser_version"`
	OS             string       `json:"os"`
	OSVersion      string       `json:"os_version"`
	Device         string       `json:"device"`
	DeviceType     string       `json:"device_type"`
	IP             string       `json:"ip"`
	Location       locationJSON `json:"location"`
	CreatedAt      time.Time    `json:"created_at"`
	LastActiveAt   time.Time    `json:"last_active_at"`
	// ExpiresAt is when the session ends if unused; null means never.
	ExpiresAt  *time.Time     `json:"expires_at"`
	Status     doorman.Status `json:"status"`
	StatusText string         `json:"status_text"`
	RememberMe bool           `json:"remember_me"`
	Activity   activityJSON   `json:"activity"`
	Risk       riskJSON       `json:"risk"`

	// TwoFactor is whether the sign-in passed a second factor.
	TwoFactor bool `json:"two_factor"`
	// Bound is whether the session is bound to its device's key (DBSC).
	Bound bool `json:"bound"`
}

type locationJSON struct {
	City        string `json:"city"`
	Region      string `json:"region"`
	Country     string `json:"country"`
	CountryCode string `json:"country_code"`
	ISP         string `json:"isp"`
	Label       string `json:"label"`
}

type activityJSON struct {
	Logins   int64  `json:"logins"`
	Actions  int64  `json:"actions"`
	LastPage string `json:"last_page"`
}

type riskJSON struct {
	Level   string   `json:"level"`
	Reasons []string `json:"reasons"`
}

var noReasons = []string{}

// newSessionJSON describes sess as its user sees it at now under the
// account's settings.
func newSessionJSON(sess *doorman.Session, current bool, set doorman.Settings, now time.Time) sessionJSON {
	d, l := sess.Device, sess.Location
	v := sessionJSON{
		ID: sess.ID, Current: current, Label: d.Label(),
		Browser: d.Browser, BrowserVersion: d.BrowserVersion, OS: d.OS, OSVersion: d.OSVersion,
		Device: d.Model, DeviceType: d.Type, IP: sess.IP,
		Location: locationJSON{City: l.City, Region: l.Region, Country: l.Country, CountryCode: l.CountryCode,
			ISP: l.ISP, Label: l.Label()},
		CreatedAt: sess.CreatedAt.UTC(), LastActiveAt: sess.LastActiveAt.UTC(),
		Status: sess.StatusAt(now), StatusText: doorman.RelativeTime(now, sess.LastActiveAt),
		RememberMe: doorman.Remembered(sess, set), TwoFactor: sess.TwoFactor, Bound: sess.Binding != nil,
		Activity: activityJSON{Logins: sess.Activity.Logins, Actions: sess.Activity.Actions,
			LastPage: sess.Activity.LastPage},
		Risk: riskJSON{Level: sess.Risk.Level, Reasons: sess.Risk.Reasons},
	}
	if v.DeviceType == "" {
		v.DeviceType = "other"
	}
	if v.Risk.Level == "" {
		v.Risk.Level = "none"
	}
	if v.Risk.Reasons == nil {
		v.Risk.Reasons = noReasons
	}
	if end, _ := doorman.Deadline(sess, set); !end.IsZero() {
		t := end.UTC()
		v.ExpiresAt = &t
	}
	return v
}

func (v *sessionJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, v.ID)
	b = append(b, `,"current":`...)
	b = strconv.AppendBool(b, v.Current)
	b = append(b, `,"label":`...)
	b = appendString(b, v.Label)
	b = append(b, `,"browser":`...)
	b = appendString(b, v.Browser)
	b = append(b, `,"browser_version":`...)
	b = appendString(b, v.BrowserVersion)
	b = append(b, `,"os":`...)
	b = appendString(b, v.OS)
	b = append(b, `,"os_version":`...)
	b = appendString(b, v.OSVersion)
	b = append(b, `,"device":`...)
	b = appendString(b, v.Device)
	b = append(b, `,"device_type":`...)
	b = appendString(b, v.DeviceType)
	b = append(b, `,"ip":`...)
	b = appendString(b, v.IP)
	l := &v.Location
	b = append(b, `,"location":{"city":`...)
	b = appendString(b, l.City)
	b = append(b, `,"region":`...)
	b = appendString(b, l.Region)
	b = append(b, `,"country":`...)
	b = appendString(b, l.Country)
	b = append(b, `,"country_code":`...)
	b = appendString(b, l.CountryCode)
	b = append(b, `,"isp":`...)
	b = appendString(b, l.ISP)
	b = append(b, `,"label":`...)
	b = appendString(b, l.Label)
	b = append(b, `},"created_at":`...)
	b = appendTime(b, v.CreatedAt)
	b = append(b, `,"last_active_at":`...)
	b = appendTime(b, v.LastActiveAt)
	b = append(b, `,"expires_at":`...)
	if v.ExpiresAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, *v.ExpiresAt)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, string(v.Status))
	b = append(b, `,"status_text":`...)
	b = appendString(b, v.StatusText)
	b = append(b, `,"remember_me":`...)
	b = strconv.AppendBool(b, v.RememberMe)
	b = append(b, `,"activity":{"logins":`...)
	b = strconv.AppendInt(b, v.Activity.Logins, 10)
	b = append(b, `,"actions":`...)
	b = strconv.AppendInt(b, v.Activity.Actions, 10)
	b = append(b, `,"last_page":`...)
	b = appendString(b, v.Activity.LastPage)
	b = append(b, `},"risk":{"level":`...)
	b = appendString(b, v.Risk.Level)
	b = append(b, `,"reasons":`...)
	if v.Risk.Reasons == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range v.Risk.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	b = append(b, `},"two_factor":`...)
	b = strconv.AppendBool(b, v.TwoFactor)
	b = append(b, `,"bound":`...)
	b = strconv.AppendBool(b, v.Bound)
	return append(b, '}')
}

type sessionsResponse struct {
	Sessions []sessionJSON `json:"sessions"`
}

func (v *sessionsResponse) appendJSON(b []byte) []byte {
	if v.Sessions == nil {
		return append(b, `{"sessions":null}`...)
	}
	b = append(b, `{"sessions":[`...)
	for i := range v.Sessions {
		if i > 0 {
			b = append(b, ',')
		}
		b = v.Sessions[i].appendJSON(b)
	}
	return append(b, "]}"...)
}

// listSessions is GET /api/v1/sessions: the user's valid sessions, the
// current one first, then by last activity.
func (s *Server) listSessions(w *request, r *http.Request) error {
	p := w.principal
	list, err := s.svc.ListSessions(r.Context(), p)
	if err != nil {
		return err
	}
	now := s.now()
	out := sessionsResponse{Sessions: make([]sessionJSON, 0, len(list))}
	for _, sess := range list {
		out.Sessions = append(out.Sessions, newSessionJSON(sess, sess.ID == p.Session.ID, p.Account.Settings, now))
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

// getSession is GET /api/v1/sessions/{id}. Another user's session, in this
// account or another, is 404 so that ids cannot be probed.
func (s *Server) getSession(w *request, r *http.Request) error {
	p := w.principal
	sess, err := s.svc.GetSession(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := newSessionJSON(sess, sess.ID == p.Session.ID, p.Account.Settings, s.now())
	writeJSON(w, http.StatusOK, &v)
	return nil
}

// deleteSession is DELETE /api/v1/sessions/{id}: that session is signed out
// and fails its next request. Deleting the current session signs out, and
// drops the cookie.
func (s *Server) deleteSession(w *request, r *http.Request) error {
	p := w.principal
	id := r.PathValue("id")
	if err := s.svc.RevokeSession(r.Context(), p, id, s.meta(w, r)); err != nil {
		return err
	}
	if id == p.Session.ID {
		s.clearCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type signedOutResponse struct {
	SignedOut int `json:"signed_out"`
}

// signOutOthers is POST /api/v1/sessions/sign-out-others.
func (s *Server) signOutOthers(w *request, r *http.Request) error {
	n, err := s.svc.SignOutOthers(r.Context(), w.principal, s.meta(w, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signedOutResponse{SignedOut: n})
	return nil
}
