package doorman

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// AuditFields are the names of an exported event's fields, in order: the
// header row of the CSV export and the keys of each JSON Lines object. They
// are stable: scripts and SIEMs read them.
var AuditFields = []string{"id", "at", "actor", "action", "target", "reason", "ip", "user_agent", "count", "details"}

// Audit export formats.
const (
	AuditCSV   = "csv"
	AuditJSONL = "jsonl"
)

// AuditEncoder writes audit events one at a time in an export format, so
// that a long log streams page by page. Call Flush when done.
type AuditEncoder struct {
	csv    *csv.Writer
	jsonl  *bufio.Writer
	header bool // the CSV header is written
}

// NewAuditEncoder returns an encoder writing format (AuditCSV or
// AuditJSONL) to w. An unknown format is EINVALID.
func NewAuditEncoder(w io.Writer, format string) (*AuditEncoder, error) {
	switch format {
	case AuditCSV:
		return &AuditEncoder{csv: csv.NewWriter(w)}, nil
	case AuditJSONL:
		return &AuditEncoder{jsonl: bufio.NewWriter(w)}, nil
	}
	return nil, Errorf(EINVALID, "format must be %s or %s", AuditCSV, AuditJSONL)
}

// auditJSON is one line of the JSON Lines export.
type auditJSON struct {
	ID        string `json:"id"`
	At        string `json:"at"`
	Actor     string `json:"actor"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	Reason    string `json:"reason"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Count     int    `json:"count"`
	Details   string `json:"details"`
}

// exportTime writes an event's time as RFC 3339 in UTC, with its
// microseconds when it has any.
func exportTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Encode writes one event.
func (e *AuditEncoder) Encode(ev *AuditEvent) error {
	if e.jsonl != nil {
		b, err := json.Marshal(auditJSON{ID: ev.ID, At: exportTime(ev.At), Actor: ev.Actor, Action: ev.Action,
			Target: ev.Target, Reason: ev.Reason, IP: ev.IP, UserAgent: ev.UserAgent, Count: ev.Count, Details: ev.Details})
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		e.jsonl.Write(b)
		return e.jsonl.WriteByte('\n')
	}
	if err := e.writeHeader(); err != nil {
		return err
	}
	return e.csv.Write([]string{ev.ID, exportTime(ev.At), cell(ev.Actor), ev.Action, cell(ev.Target), cell(ev.Reason),
		cell(ev.IP), cell(ev.UserAgent), strconv.Itoa(ev.Count), cell(ev.Details)})
}

func (e *AuditEncoder) writeHeader() error {
	if e.header {
		return nil
	}
	e.header = true
	return e.csv.Write(AuditFields)
}

// Flush writes what is buffered (and the CSV header, when no event was
// written) and returns the first error met.
func (e *AuditEncoder) Flush() error {
	if e.jsonl != nil {
		return e.jsonl.Flush()
	}
	if err := e.writeHeader(); err != nil {
		return err
	}
	e.csv.Flush()
	return e.csv.Error()
}

// cell keeps a spreadsheet from running text that people chose (a
// User-Agent, the email typed at a failed sign-in, a reason) as a formula:
// a value starting with = + - @ or a tab or carriage return gets a leading
// apostrophe, as OWASP advises for CSV injection. The JSON Lines export
// keeps every value as it is.
func cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// WriteAuditCSV writes evs as CSV with a header row of AuditFields; times
// are RFC 3339 in UTC.
func WriteAuditCSV(w io.Writer, evs []*AuditEvent) error {
	return writeAudit(w, AuditCSV, evs)
}

// WriteAuditJSONL writes evs as JSON Lines, one object per event with the
// keys of AuditFields; times are RFC 3339 in UTC.
func WriteAuditJSONL(w io.Writer, evs []*AuditEvent) error {
	return writeAudit(w, AuditJSONL, evs)
}

func writeAudit(w io.Writer, format string, evs []*AuditEvent) error {
	e, err := NewAuditEncoder(w, format)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if err := e.Encode(ev); err != nil {
			return err
		}
	}
	return e.Flush()
}
