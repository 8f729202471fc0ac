package smtp_test

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
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

// TestSendHTML: with HTML the message is multipart/alternative, the plain
// text first and the HTML second, each exactly as given.
func TestSendHTML(t *testing.T) {
	srv := smtptest.Start(t)
	m, err := smtp.New(srv.Addr, "Doorman <doorman@example.com>", "", "")
	if err != nil {
		t.Fatal(err)
	}
	text := "Join Zürich Team:\nhttps://doorman.example.com/invite/abc\n.\n--not a boundary\n"
	html := `<p>Join <strong>Zürich Team</strong>: <a href="https://doorman.example.com/invite/abc">accept</a></p>` + strings.Repeat("x", 100)
	if err := m.Send(context.Background(), doorman.Email{To: "nia@company.com", Subject: "Invited", Text: text, HTML: html}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	parsed, err := mail.ReadMessage(srv.Messages()[0].Reader())
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", parsed.Header.Get("Content-Type"))
	}
	r := multipart.NewReader(parsed.Body, params["boundary"])
	var types, bodies []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		bodies = append(bodies, strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
	if len(types) != 2 || types[0] != "text/plain" || types[1] != "text/html" || bodies[0] != text || bodies[1] != html {
		t.Fatalf("parts %q:\n%q", types, bodies)
	}
}
