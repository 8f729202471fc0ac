package http

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// auditPage is GET /admin/audit: the account's audit log, filtered by
// actor, action and dates, with exports of what the filter selects. Each
// event reads as a sentence: who, did what, to whom or what, why, from
// where.
func (s *Server) auditPage(w *request, r *http.Request) error {
	p := w.principal
	q := r.URL.Query()
	form := pages.AuditFilter{Actor: doorman.NormalizeEmail(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	f := doorman.AuditFilter{Actor: form.Actor, Action: form.Action}
	export := url.Values{}
	for k, v := range map[string]string{"actor": form.Actor, "action": form.Action} {
		if v != "" {
			export.Set(k, v)
		}
	}
	status, msg := http.StatusOK, ""
	if form.From != "" {
		t, err := time.Parse(time.DateOnly, form.From)
		if err != nil {
			status, msg = http.StatusBadRequest, "The From date is not a date. Nothing is shown until it is corrected."
		}
		f.Since = t
		export.Set("since", t.Format(time.DateOnly))
	}
	if form.To != "" && msg == "" {
		t, err := time.Parse(time.DateOnly, form.To)
		if err != nil {
			status, msg = http.StatusBadRequest, "The To date is not a date. Nothing is shown until it is corrected."
		}
		f.Until = t.AddDate(0, 0, 1) // the whole of the last day
		export.Set("until", f.Until.Format(time.DateOnly))
	}
	if msg == "" && !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		status, msg = http.StatusBadRequest, "The From date is after the To date. Nothing is shown until it is corrected."
	}
	if err := f.Validate(); err != nil && msg == "" {
		status, msg = http.StatusBadRequest, sentence(doorman.ErrorMessage(err))+" Nothing is shown until it is corrected."
	}
	team, err := s.svc.TeamUsers(r.Context(), p)
	if err != nil {
		return err
	}
	page := &pages.AuditPage{Layout: s.layout(w, r, "Audit Log"), Filter: form, Error: msg,
		Actors: userOptions(team, form.Actor, true), Actions: pages.ActionGroups(form.Action)}
	page.Places = true
	if form.Action != "" && !doorman.KnownAuditAction(form.Action) && doorman.ValidText(form.Action) {
		// The select shows what was asked for, beside the error that says why it shows nothing.
		page.Actions = append(page.Actions, pages.OptionGroup{Options: []pages.Option{
			{Value: form.Action, Label: pages.ActionText(form.Action), Selected: true}}})
	}
	export.Set("format", "csv")
	page.ExportCSV = "/api/v1/audit/export?" + export.Encode()
	export.Set("format", "jsonl")
	page.ExportJSONL = "/api/v1/audit/export?" + export.Encode()
	if msg != "" {
		s.render(w, r, status, page)
		return nil
	}
	n := pageNumber(q)
	f.Limit, f.Offset = teamPageSize, (n-1)*teamPageSize
	evs, total, err := s.svc.AuditLog(r.Context(), p, f)
	if err != nil {
		return err
	}
	names, err := s.svc.AuditNames(r.Context(), p, evs)
	if err != nil {
		return err
	}
	d := s.newAuditDescriber(p, names)
	for _, ev := range evs {
		page.Rows = append(page.Rows, d.row(ev))
	}
	page.Pager = pages.NewPager(n, teamPageSize, len(page.Rows), total, "events", pages.PathAudit, q)
	s.render(w, r, http.StatusOK, page)
	return nil
}

var errEventGone = &doorman.Error{Code: doorman.ENOTFOUND, Message: "This audit event does not exist in your team's audit log."}

// auditEventPage is GET /admin/audit/{id}: one event, every field in words.
// Another account's event, and an id that is none, are 404.
func (s *Server) auditEventPage(w *request, r *http.Request) error {
	p := w.principal
	ev, err := s.svc.AuditEvent(r.Context(), p, r.PathValue("id"))
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return errEventGone
	}
	if err != nil {
		return err
	}
	names, err := s.svc.AuditNames(r.Context(), p, []*doorman.AuditEvent{ev})
	if err != nil {
		return err
	}
	row := s.newAuditDescriber(p, names).row(ev)
	page := &pages.AuditEventPage{Layout: s.layout(w, r, row.Action+" · Audit Log"), Event: row,
		Place: s.placeLabel(ev.IP), Details: pages.AuditDetails(ev.Details)}
	page.Places = true
	s.render(w, r, http.StatusOK, page)
	return nil
}

// auditDescriber puts a page of events into words, with the objects they
// name as they are now.
type auditDescriber struct {
	s       *Server
	p       *doorman.Principal
	names   *app.AuditNames
	now     time.Time
	devices map[string]string // labels of the User-Agents already named
}

func (s *Server) newAuditDescriber(p *doorman.Principal, names *app.AuditNames) *auditDescriber {
	return &auditDescriber{s: s, p: p, names: names, now: s.now(), devices: map[string]string{}}
}

// countedActions are the actions whose count of sessions the pages show.
var countedActions = map[string]bool{
	doorman.ActionOtherSessionsRevoke: true,
	doorman.ActionUserSessionsRevoked: true,
	doorman.ActionTeamSessionsRevoked: true,
	doorman.ActionAllSessionsRevoked:  true,
	doorman.ActionPasswordReset:       true,
}

// row describes one event.
func (d *auditDescriber) row(ev *doorman.AuditEvent) pages.AuditRow {
	row := pages.AuditRow{ID: ev.ID, When: pages.NewTime(ev.At, d.now), Actor: d.actor(ev), Action: pages.ActionText(ev.Action),
		Code: ev.Action, Target: d.target(ev), Reason: pages.AuditReason(ev), IP: ev.IP, UserAgent: ev.UserAgent}
	if d.now.Sub(ev.At) < doorman.ActiveNowWindow {
		row.When.Relative = "Just now" // an event is not "active"
	}
	if countedActions[ev.Action] {
		row.Count = plural(ev.Count, "session", "sessions")
	}
	if ev.Action == doorman.ActionSettingsUpdated && ev.Count > 0 {
		// The sessions the new settings ended at once, for good.
		row.Count = plural(ev.Count, "session", "sessions") + " ended"
	}
	if ua := ev.UserAgent; ua != "" {
		row.Device = d.device(ua)
	}
	return row
}

func (d *auditDescriber) device(ua string) string {
	label, ok := d.devices[ua]
	if !ok {
		label = d.s.deviceLabel(ua)
		d.devices[ua] = label
	}
	return label
}

// actor names who acted: their email, linked to their page while they
// are in the team, or the API key, linked to its page.
func (d *auditDescriber) actor(ev *doorman.AuditEvent) pages.AuditLink {
	l := pages.AuditLink{Text: pages.ActorText(ev.Actor)}
	if u := d.names.Users[doorman.NormalizeEmail(ev.Actor)]; u != nil && u.ID == ev.ActorID && u.RemovedAt == nil {
		l.Href = pages.TeamPersonPath(u.ID)
	}
	if doorman.IDWellFormed(doorman.PrefixAPIKeyID, ev.ActorID) {
		l.Href = pages.APIKeyPath(ev.ActorID) // a key acted: its page says which and what it did since
	}
	return l
}

// target names what the event acted on: a user by email, a session by its
// device and place, an API key by its name. When the object is gone it
// says so, with what the event itself recorded.
func (d *auditDescriber) target(ev *doorman.AuditEvent) pages.AuditLink {
	a, known := doorman.FindAuditAction(ev.Action)
	if !known {
		return pages.AuditLink{Text: ev.Target}
	}
	switch a.Target {
	case doorman.TargetUser:
		l := pages.AuditLink{Text: ev.Target}
		u := d.names.Users[doorman.NormalizeEmail(ev.Target)]
		switch {
		case ev.Target == "":
		case u == nil:
			if ev.Action != doorman.ActionSignInFailed { // a typed email names no one
				l.Note = "No longer in the team"
			}
		case u.RemovedAt != nil:
			l.Sub, l.Note = u.Name, "Removed from the team"
		default:
			l.Sub, l.Href = u.Name, pages.TeamPersonPath(u.ID)
		}
		return l
	case doorman.TargetSession:
		if sess := d.names.Sessions[ev.Target]; sess != nil {
			l := pages.AuditLink{Text: sess.Device.Label(), Sub: sess.Location.Label()}
			if sess.Device.Browser == "" && sess.Device.OS == "" && sess.UserAgent != "" {
				l.Text = d.device(sess.UserAgent) // no detector named it: the client as it calls itself
			}
			return l
		}
		if a.OwnRequest && (ev.UserAgent != "" || ev.IP != "") {
			// The event's request was the session's own: it says what the session was.
			l := pages.AuditLink{Text: "Unknown browser", Sub: d.s.placeLabel(ev.IP), Note: "Session since deleted"}
			if ev.UserAgent != "" {
				l.Text = d.device(ev.UserAgent)
			}
			return l
		}
		return pages.AuditLink{Text: "A session", Note: "Since deleted"}
	case doorman.TargetAPIKey:
		if k := d.names.APIKeys[ev.Target]; k != nil {
			l := pages.AuditLink{Text: k.Name, Sub: k.Prefix, Href: pages.APIKeyPath(k.ID)}
			if k.RevokedAt != nil && ev.Action != doorman.ActionAPIKeyRevoked {
				l.Note = "Revoked since"
			}
			return l
		}
		l := pages.AuditLink{Text: "An API key", Note: "No longer stored"}
		for _, f := range pages.AuditDetails(ev.Details) {
			switch f.Key {
			case "name":
				l.Text = f.Value
			case "prefix":
				l.Sub = f.Value
			}
		}
		return l
	case doorman.TargetAccount:
		return pages.AuditLink{Text: d.p.Account.Name}
	case doorman.TargetDelivery:
		l := pages.AuditLink{Text: "An alert"}
		for _, f := range pages.AuditDetails(ev.Details) {
			switch f.Key {
			case "channel":
				l.Text = f.Value
			case "event":
				l.Sub = f.Value
			}
		}
		return l
	}
	return pages.AuditLink{Text: ev.Target}
}

// placeLabel names where ip is ("Madrid, Spain") with the service's
// locator, "" when it has none or the address is not one.
func (s *Server) placeLabel(ip string) string {
	loc := s.svc.Places
	if loc == nil || ip == "" {
		return ""
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	l := loc.Locate(addr.Unmap())
	if l.Label() == "Unknown location" {
		return ""
	}
	return l.Label()
}

// maxUALabel is how much of a raw User-Agent a table cell shows when no
// detector names it.
const maxUALabel = 40

// deviceLabel names the client of a User-Agent ("Chrome on macOS") with the
// service's detector when it has one, else shows the start of the string.
func (s *Server) deviceLabel(ua string) string {
	if d := s.svc.Devices; d != nil {
		if dev := d.Detect(ua, doorman.ClientHints{}); dev.Browser != "" || dev.OS != "" {
			return dev.Label()
		}
	}
	if len(ua) <= maxUALabel {
		return ua
	}
	return strings.TrimSpace(doorman.CutText(ua, maxUALabel)) + "…"
}
