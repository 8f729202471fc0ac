package http

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// auditEventJSON is one event of GET /api/v1/audit.
type auditEventJSON struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Reason    string    `json:"reason"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Count     int       `json:"count"`
	Details   string    `json:"details"`
}

type auditResponse struct {
	Events []auditEventJSON `json:"events"`
	Total  int              `json:"total"`
	Limit  int              `json:"limit"`
	Offset int              `json:"offset"`
}

// auditQuery reads the filters that GET /api/v1/audit and its export share:
// action, actor (an email, or "system"), target, since and until (RFC 3339,
// or a date for midnight UTC at its start; until is exclusive).
func auditQuery(q url.Values) (doorman.AuditFilter, error) {
	f := doorman.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Target: strings.TrimSpace(q.Get("target")),
		Actor: doorman.NormalizeEmail(q.Get("actor"))}
	var err error
	if f.Since, err = queryTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = queryTime(q, "until"); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, doorman.Errorf(doorman.EINVALID, "since must be before until")
	}
	return f, nil
}

// queryTime reads a time parameter: RFC 3339, or a date (yyyy-mm-dd) for
// midnight UTC at its start. Absent is the zero time.
func queryTime(q url.Values, name string) (time.Time, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, doorman.Errorf(doorman.EINVALID, "%s must be an RFC 3339 time or a date (yyyy-mm-dd)", name)
}

func newAuditEventJSON(ev *doorman.AuditEvent) auditEventJSON {
	return auditEventJSON{ID: ev.ID, At: ev.At.UTC(), Actor: ev.Actor, Action: ev.Action, Target: ev.Target,
		Reason: ev.Reason, IP: ev.IP, UserAgent: ev.UserAgent, Count: ev.Count, Details: ev.Details}
}

// auditLog is GET /api/v1/audit: the account's events, newest first, a page
// at a time.
func (s *Server) auditLog(w *request, r *http.Request) error {
	q := r.URL.Query()
	f, err := auditQuery(q)
	if err != nil {
		return err
	}
	if f.Limit, f.Offset, err = paging(q, app.MaxAuditLimit); err != nil {
		return err
	}
	evs, total, err := s.svc.AuditLog(r.Context(), w.principal, f)
	if err != nil {
		return err
	}
	out := auditResponse{Events: make([]auditEventJSON, 0, len(evs)), Total: total, Limit: f.Limit, Offset: f.Offset}
	if out.Limit == 0 {
		out.Limit = app.DefaultAuditLimit
	}
	for _, ev := range evs {
		out.Events = append(out.Events, newAuditEventJSON(ev))
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

// auditExport is GET /api/v1/audit/export?format=csv|jsonl: every event the
// filters match, newest first, as a file to download. It streams the log a
// page at a time: an error before the first bytes is answered in JSON; one
// after them cuts the connection, so that no client takes a truncated file
// for the whole.
func (s *Server) auditExport(w *request, r *http.Request) error {
	q := r.URL.Query()
	format := q.Get("format")
	var ctype string
	switch format {
	case doorman.AuditCSV:
		ctype = "text/csv; charset=utf-8"
	case doorman.AuditJSONL:
		ctype = "application/jsonl; charset=utf-8"
	default:
		return doorman.Errorf(doorman.EINVALID, "format must be %s or %s", doorman.AuditCSV, doorman.AuditJSONL)
	}
	f, err := auditQuery(q)
	if err != nil {
		return err
	}
	name := "doorman-audit-" + s.now().Format("20060102-150405") + "." + format
	out := &download{rq: w, ctype: ctype, name: name}
	enc, err := doorman.NewAuditEncoder(out, format)
	if err != nil {
		return err
	}
	err = s.svc.ExportAudit(r.Context(), w.principal, f, enc.Encode)
	if err == nil {
		err = enc.Flush()
	}
	if err != nil && w.status != 0 {
		s.writeError(w, r, err) // logs it; the answer has begun
		panic(http.ErrAbortHandler)
	}
	return err
}

// download writes an attachment's headers before its first bytes, so that
// an export that fails before writing anything can still answer in JSON.
type download struct {
	rq          *request
	ctype, name string
}

func (d *download) Write(b []byte) (int, error) {
	if d.rq.status == 0 {
		h := d.rq.Header()
		h["Content-Type"] = []string{d.ctype}
		h["Content-Disposition"] = []string{`attachment; filename="` + d.name + `"`}
		d.rq.WriteHeader(http.StatusOK)
	}
	return d.rq.Write(b)
}
