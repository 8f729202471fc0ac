package http

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// Forms forgive a double click. Every form of a signed-in page that changes
// something sends, beside its per-session token ("csrf"), the page's
// one-time token ("once", made by the Service for each page shown). Before
// the form's handler runs, the Service claims the token for the form's
// action in the Store: the first submission runs the handler, and its
// answer is recorded; a resubmission (a double click, Back and send again,
// a retry after a lost answer) runs nothing and gets that answer again:
//
//   - a redirect (signed out, saved, revoked) leads where the first did,
//     saying the thing is done already ("Already saved.");
//   - a page (an API key's secret, recovery codes, an invitation link,
//     shown once) is shown again as it was, for doorman.FormReplayWindow,
//     then replaced by a redirect to the form's page saying what happened;
//   - an answer that changed nothing (a refused input, an error page, a
//     request to confirm the password first) gives the token back, so that
//     the form may be sent again.
//
// The claim is in the Store, shared by every node, and atomic: of two
// simultaneous submissions exactly one runs the handler; the other waits
// for its answer.

// onceExempt are the signed-in forms sent without a one-time token, each
// with why a resubmission is harmless without one: the passkey ceremony's
// two steps are posted by the page's script with the same fields, and the
// ceremony itself is single-use in the Store.
var onceExempt = map[string]string{
	"POST " + pages.PathPasskeys + "/begin":  "starts a ceremony: a second one replaces nothing and expires unused",
	"POST " + pages.PathPasskeys + "/finish": "finishes a ceremony, which the Store lets be used once",
}

// onceNote is what a handler may say about a resubmission of its form
// once its answer's page is no longer kept: what to say and where to go.
type onceNote struct{ text, to string }

// onceAgain sets what a resubmission of this form is told once the page of
// this answer is gone (doorman.FormReplayWindow), and where it leads.
func (rq *request) onceAgain(text, to string) { rq.again = &onceNote{text: text, to: to} }

// msgSignedOut is what a sign-out sent again says.
const msgSignedOut = "You are signed out."

// againText is what a resubmission says, by route; others say msgAgain.
var againText = map[string]string{
	"POST " + pages.PathLogout:                       msgSignedOut,
	"POST " + pages.PathSessions + "/{id}/sign-out":  "This session is signed out.",
	"POST " + pages.PathSignOutOthers:                "Already signed out: your other sessions are signed out.",
	"POST " + pages.PathSignOutAll:                   msgSignedOut,
	"POST " + pages.PathReauth:                       "Your password is confirmed.",
	"POST " + pages.PathPassword:                     "Already saved: your password was changed.",
	"POST " + pages.PathTwoFactorSetup:               "Already started: scan the code on this page.",
	"POST " + pages.PathTwoFactorConfirm:             "Already done: two-factor authentication is on.",
	"POST " + pages.PathRecoveryCodes:                "Already done: new recovery codes were made.",
	"POST " + pages.PathTwoFactorDisable:             "Already done: two-factor authentication is off.",
	"POST " + pages.PathSignOutTeam:                  "Already signed out.",
	"POST " + pages.PathAdminUsers + "{id}/sign-out": "Already signed out.",
	"POST " + pages.PathInviteUser:                   "Already invited.",
	"POST " + pages.PathTeam + "/{id}/role":          "Already saved.",
	"POST " + pages.PathTeam + "/{id}/disable":       "Already disabled.",
	"POST " + pages.PathTeam + "/{id}/enable":        "Already enabled.",
	"POST " + pages.PathTeam + "/{id}/remove":        "Already removed.",
	"POST " + pages.PathTeam + "/{id}/resend":        "Already sent.",
	"POST " + pages.PathSessionSettings:              "Already saved.",
	"POST " + pages.PathAPIKeys:                      "Already created.",
	"POST " + pages.PathAPIKeys + "/{id}/revoke":     "Already revoked.",
	"POST " + pages.PathWebhook:                      "Already saved.",
	"POST " + pages.PathWebhook + "/test":            "Already sent.",
	"POST " + pages.PathWebhook + "/delete":          "Already deleted.",
	"POST " + pages.PathPasskeys + "/{id}/remove":    "Already removed.",
}

const (
	msgAgain     = "Already done."
	msgShownOnce = " What it showed is shown only once."
)

// onceOutcome is a first answer in brief, kept as long as the token works.
type onceOutcome struct {
	Location string `json:"location"`
	Again    string `json:"again"`
}

// oncePage is a first answer in full, kept for doorman.FormReplayWindow:
// its cookies (a redirect's) or the whole page.
type oncePage struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
}

// replayedHeaders are the headers of a page answer that its replay repeats
// (beside its cookies); the others are every page's own.
var replayedHeaders = []string{"Content-Type", "Cache-Control", "Referrer-Policy"}

// onceRecorder holds a handler's answer until it is recorded: the status
// and body wait, the headers go to the real ResponseWriter's map.
type onceRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (o *onceRecorder) WriteHeader(code int) {
	if o.status == 0 && code >= 200 {
		o.status = code
	}
}

func (o *onceRecorder) Write(b []byte) (int, error) {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	return o.body.Write(b)
}

// serveOnce runs the handler of a signed-in form under its one-time token.
func (s *Server) serveOnce(rq *request, r *http.Request, rt *pageRoute) {
	if err := s.checkForm(rq, r); err != nil {
		s.pageError(rq, r, err)
		return
	}
	action := rt.Method + " " + r.URL.Path
	c, err := s.svc.ClaimForm(r.Context(), rq.principal, r.PostForm.Get("once"), action)
	if err != nil {
		s.pageError(rq, r, err)
		return
	}
	if !c.First {
		s.replay(rq, r, c)
		return
	}
	// The action is done once claimed, whether or not the browser waits
	// for it (a double click drops the first request).
	r = r.WithContext(context.WithoutCancel(r.Context()))
	orig := rq.ResponseWriter
	rec := &onceRecorder{ResponseWriter: orig}
	rq.ResponseWriter = rec
	settled := false
	defer func() {
		rq.ResponseWriter = orig
		if !settled { // a panic: the middleware answers 500, nothing was recorded
			s.onceLog(rq, r, "release form", s.svc.ReleaseForm(r.Context(), c))
		}
	}()
	if err := rt.h(s, rq, r); err != nil {
		s.pageError(rq, r, err)
	}
	s.record(rq, r, rt, c, rec)
	settled = true
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	orig.WriteHeader(rec.status)
	orig.Write(rec.body.Bytes())
}

// record keeps the first answer for resubmissions, or gives the token back
// when the answer changed nothing.
func (s *Server) record(rq *request, r *http.Request, rt *pageRoute, c *app.FormClaim, rec *onceRecorder) {
	h := rq.Header()
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	again := againText[rt.Pattern()]
	if again == "" {
		again = msgAgain
	}
	var out onceOutcome
	var page *oncePage
	switch loc := h.Get("Location"); {
	case status >= 300 && status < 400 && loc != "" && !strings.HasPrefix(loc, pages.PathReauth) && !s.errorFlash(h):
		out = onceOutcome{Location: loc, Again: again}
		if cookies := s.replayedCookies(h); len(cookies) > 0 {
			page = &oncePage{Status: status, Header: map[string][]string{"Set-Cookie": cookies}}
		}
	case status >= 200 && status < 300:
		out = onceOutcome{Location: r.URL.Path, Again: again + msgShownOnce}
		if n := rq.again; n != nil {
			out = onceOutcome{Location: n.to, Again: n.text}
		}
		page = &oncePage{Status: status, Header: map[string][]string{}, Body: rec.body.Bytes()}
		for _, k := range replayedHeaders {
			if v := h.Values(k); len(v) > 0 {
				page.Header[k] = v
			}
		}
		if cookies := s.replayedCookies(h); len(cookies) > 0 {
			page.Header["Set-Cookie"] = cookies
		}
	default:
		// Nothing changed: a refused input, an error (a page, or a
		// redirect with an error's flash), a redirect to confirm the
		// password first. The form may be sent again.
		s.onceLog(rq, r, "release form", s.svc.ReleaseForm(r.Context(), c))
		return
	}
	ob, err := json.Marshal(out)
	if err != nil {
		s.onceLog(rq, r, "finish form", err)
		return
	}
	var pb []byte
	if page != nil {
		if pb, err = json.Marshal(page); err != nil {
			s.onceLog(rq, r, "finish form", err)
			return
		}
	}
	s.onceLog(rq, r, "finish form", s.svc.FinishForm(r.Context(), c, ob, pb))
}

// errorFlash reports whether the answer leaves an error's flash: a refusal
// that changed nothing.
func (s *Server) errorFlash(h http.Header) bool {
	for _, v := range h.Values("Set-Cookie") {
		if raw, ok := strings.CutPrefix(v, s.flashCookieName()+"="); ok {
			raw, _, _ = strings.Cut(raw, ";")
			b, err := base64.RawURLEncoding.DecodeString(raw)
			if err == nil && strings.HasPrefix(string(b), pages.FlashError+"\n") {
				return true
			}
		}
	}
	return false
}

// replayedCookies are the cookies an answer set, but the flash: a replay
// says its own.
func (s *Server) replayedCookies(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(v, s.flashCookieName()+"=") {
			out = append(out, v)
		}
	}
	return out
}

// replay answers a resubmission as the first submission was answered.
func (s *Server) replay(rq *request, r *http.Request, c *app.FormClaim) {
	var out onceOutcome
	if err := json.Unmarshal(c.Outcome, &out); err != nil || out.Location == "" {
		s.pageError(rq, r, fmt.Errorf("replay form: outcome %q: %v", out.Location, err))
		return
	}
	var page oncePage
	if c.Page != nil {
		if err := json.Unmarshal(c.Page, &page); err != nil {
			s.pageError(rq, r, err)
			return
		}
	}
	h := rq.Header()
	for _, v := range page.Header["Set-Cookie"] {
		h.Add("Set-Cookie", v)
	}
	if page.Status >= 200 && page.Status < 300 {
		for _, k := range replayedHeaders {
			if v := page.Header[k]; len(v) > 0 {
				h[k] = v
			}
		}
		h["Content-Length"] = []string{strconv.Itoa(len(page.Body))}
		rq.WriteHeader(page.Status)
		rq.Write(page.Body)
		return
	}
	if out.Again != "" {
		s.setFlash(rq, pages.FlashSuccess, out.Again) // the first did it
	}
	s.redirect(rq, r, out.Location)
}

// replayEnded answers a form sent again by a session that ended: when the
// form's first submission ended it (signed out, or replaced by a new
// session after a privilege change), as that submission was answered;
// when it was signed out otherwise and the form signs out, as done. It
// reports whether it answered.
func (s *Server) replayEnded(rq *request, r *http.Request, rt *pageRoute, token string, authErr error) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	c, err := s.svc.ReplayEndedForm(r.Context(), token, r.PostForm.Get("once"), rt.Method+" "+r.URL.Path)
	switch {
	case err == nil:
		s.replay(rq, r, c)
		return true
	case doorman.ErrorCode(err) != doorman.ENOTFOUND:
		s.pageError(rq, r, err)
		return true
	}
	var e *doorman.Error
	if !signOutRoute(rt) || !errors.As(authErr, &e) || (e.Reason != doorman.ReasonSignedOut && e.Reason != doorman.ReasonRevokedByUser) {
		return false
	}
	s.clearCookie(rq)
	s.setFlash(rq, pages.FlashSuccess, msgSignedOut)
	s.redirect(rq, r, pages.PathLogin)
	return true
}

// signOutRoute reports whether the route signs out the session it is sent
// with.
func signOutRoute(rt *pageRoute) bool {
	switch rt.Pattern() {
	case "POST " + pages.PathLogout, "POST " + pages.PathSignOutAll, "POST " + pages.PathSessions + "/{id}/sign-out":
		return true
	}
	return false
}

// onceLog logs a failure to record a claim's end: the answer still goes
// out; a resubmission then finds the claim at work and says so.
func (s *Server) onceLog(rq *request, r *http.Request, op string, err error) {
	if err == nil {
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, op,
		slog.String("request_id", rq.id), slog.String("path", logPath(r)), slog.Any("err", err))
}
