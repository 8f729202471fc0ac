package http

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/doorman/doorman"
)

// jsonAppender is an answer that writes its own JSON. The answers of the
// hot path (whoami, the session list, errors) do, to spare the reflection
// of encoding/json; TestJSONAppenders holds each to exactly the bytes
// encoding/json writes for the same struct, so that the struct tags stay
// the one definition of the shape.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

var jsonType = []string{"application/json"}

// bufPool holds answer buffers. Buffers that grew past maxPooledBuf are
// left to the garbage collector so that one big answer does not pin memory.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

const maxPooledBuf = 64 << 10

// writeJSON encodes v once and writes it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	if a, ok := v.(jsonAppender); ok {
		b = a.appendJSON(b)
	} else {
		out, err := json.Marshal(v)
		if err != nil {
			// Only a bug can get here: every answer is a plain struct.
			panic("http: encode JSON answer: " + err.Error())
		}
		b = append(b, out...)
	}
	writeBody(w, status, bp, b)
}

// chunkingThreshold is the size under which net/http buffers a whole
// answer and sets its Content-Length itself (its bufferBeforeChunkingSize).
const chunkingThreshold = 2048

// writeBody writes the JSON in b, ended by a newline, and returns the pooled
// buffer bp that b was appended to.
func writeBody(w http.ResponseWriter, status int, bp *[]byte, b []byte) {
	b = append(b, '\n')
	h := w.Header()
	h["Content-Type"] = jsonType
	if len(b) >= chunkingThreshold {
		// Larger answers would go out chunked without it.
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	}
	w.WriteHeader(status)
	w.Write(b)
	if cap(b) <= maxPooledBuf {
		*bp = b
		bufPool.Put(bp)
	}
}

// decodeJSON reads one JSON object from the body into v. Unknown fields,
// trailing data and wrong types are EINVALID naming the problem; a body over
// the cap is errBodyTooLarge.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errMediaType
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return jsonError(err)
		}
		return doorman.Errorf(doorman.EINVALID, "request body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return errBodyTooLarge
	case errors.Is(err, io.EOF):
		return doorman.Errorf(doorman.EINVALID, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syntax):
		return doorman.Errorf(doorman.EINVALID, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return doorman.Errorf(doorman.EINVALID, "request body must be a JSON object")
		}
		return doorman.Errorf(doorman.EINVALID, "%s must be a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if msg := err.Error(); len(msg) > 6 && msg[:6] == "json: " {
		return doorman.Errorf(doorman.EINVALID, "%s", msg[6:])
	}
	return doorman.Errorf(doorman.EINVALID, "request body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "float64":
		return "number"
	}
	return "value"
}

const hexDigits = "0123456789abcdef"

// plainJSON marks the bytes appendString copies as they are: printable
// ASCII but for the quote, the backslash and the HTML-sensitive <, > and &.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string, escaped exactly as encoding/json
// escapes it (HTML-safe, U+2028 and U+2029 escaped, invalid UTF-8 as
// U+FFFD). It runs for every string of every validation's answer: plain
// bytes are skipped by one table lookup each and copied in runs.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && plainJSON[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTime appends t as encoding/json writes a time.Time (RFC 3339 with
// the nanoseconds' trailing zeros cut). A UTC time in years 0–9999, as
// every answer's times are, is written digit by digit: three of them go
// into every validation's answer, and time's general formatter costs
// several times as much.
func appendTime(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if t.Location() != time.UTC || y < 0 || y > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	hh, mm, ss := t.Clock()
	b = append(b, '"',
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z', '"')
}
