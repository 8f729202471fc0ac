package smtp_test

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/internal/smtptest"
	"github.com/doorman/doorman/smtp"
)

func TestSend(t *testing.T) {
	srv := smtptest.Start(t)
	m, err := smtp.New(srv.Addr, "Doorman <doorman@example.com>", "", "")
	if err != nil {
		t.Fatal(err)
	}
	text := "Someone signed in from Zürich.\n.\nA line with a dot above, and a long one: " + strings.Repeat("x", 100) + "\n"
	err = m.Send(context.Background(), doorman.Email{To: "sarah@company.com", Subject: "New sign-in: Zürich\r\nBcc: evil@example.com", Text: text})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].From != "doorman@example.com" || len(msgs[0].To) != 1 || msgs[0].To[0] != "sarah@company.com" {
		t.Fatalf("messages: %+v", msgs)
	}
	parsed, err := mail.ReadMessage(msgs[0].Reader())
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header.Get("Bcc") != "" {
		t.Error("a header was injected through the subject")
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != "New sign-in: Zürich  Bcc: evil@example.com" {
		t.Errorf("subject %q (%v)", subject, err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != text {
		t.Errorf("body:\n%q\nwant\n%q", got, text)
	}
}

func TestSendServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m, _ := smtp.New(addr, "doorman@example.com", "", "")
	if err := m.Send(context.Background(), doorman.Email{To: "a@example.com", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct{ addr, from, user, pass string }{
		{"smtp.example.com", "a@example.com", "", ""},
		{"smtp.example.com:587", "not an address", "", ""},
		{"smtp.example.com:587", "a@example.com", "user", ""},
	} {
		if _, err := smtp.New(tc.addr, tc.from, tc.user, tc.pass); err == nil {
			t.Errorf("New(%q, %q, %q): no error", tc.addr, tc.from, tc.user)
		}
	}
}

// TestSendHTML sends a message with an HTML part: multipart/alternative,
// the text first, each part as it was given.
func TestSendHTML(t *testing.T) {
	srv := smtptest.Start(t)
	m, err := smtp.New(srv.Addr, "Doorman <doorman@example.com>", "", "")
	if err != nil {
		t.Fatal(err)
	}
	text := "Open this link:\n\n    https://doorman.example.com/password/reset/abc\n"
	html := "<p>Open <a href=\"https://doorman.example.com/password/reset/abc\">this link</a> in Zürich.</p>\n" + strings.Repeat("y", 120) + "\n"
	if err := m.Send(context.Background(), doorman.Email{To: "sarah@company.com", Subject: "Reset", Text: text, HTML: html}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}
	parsed, err := mail.ReadMessage(msgs[0].Reader())
	if err != nil {
		t.Fatal(err)
	}
	if typ, _, _ := mime.ParseMediaType(parsed.Header.Get("Content-Type")); typ != "multipart/alternative" {
		t.Errorf("Content-Type %q, want multipart/alternative", parsed.Header.Get("Content-Type"))
	}
	gotText, gotHTML, err := msgs[0].Bodies()
	if err != nil {
		t.Fatal(err)
	}
	if gotText != text || gotHTML != html {
		t.Errorf("parts:\n%q\n%q\nwant\n%q\n%q", gotText, gotHTML, text, html)
	}
	if i, j := strings.Index(msgs[0].Data, "text/plain"), strings.Index(msgs[0].Data, "text/html"); i < 0 || j < i {
		t.Error("the text part must come before the HTML part")
	}
}
