// Package smtp sends Doorman's email (sign-in alerts) through an SMTP
// server with the standard library's net/smtp: STARTTLS whenever the server
// offers it, and PLAIN authentication when a user name is configured (which
// net/smtp allows only over TLS or to localhost).
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// DefaultTimeout bounds one message's whole conversation when the context
// has no earlier deadline.
const DefaultTimeout = 30 * time.Second

// Mailer is a doorman.Mailer speaking SMTP to one server.
type Mailer struct {
	// Addr is the server's host:port, "smtp.example.com:587".
	Addr string
	// From is the sender address, "Doorman <doorman@example.com>".
	From string
	// Username and Password authenticate (PLAIN) when Username is set.
	Username, Password string
	// TLS configures STARTTLS; nil verifies the server's certificate for
	// Addr's host name.
	TLS *tls.Config
	// Timeout bounds a message; default DefaultTimeout.
	Timeout time.Duration
}

var _ doorman.Mailer = (*Mailer)(nil)

// New checks the configuration and returns a Mailer.
func New(addr, from, username, password string) (*Mailer, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("smtp: address %q must be host:port", addr)
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("smtp: from %q is not an email address", from)
	}
	if (username == "") != (password == "") {
		return nil, errors.New("smtp: set both the user name and the password, or neither")
	}
	return &Mailer{Addr: addr, From: from, Username: username, Password: password}, nil
}

// Send delivers m to the server, which has taken it when Send returns nil.
func (ml *Mailer) Send(ctx context.Context, m doorman.Email) error {
	from, err := netmail.ParseAddress(ml.From)
	if err != nil {
		return fmt.Errorf("smtp: from: %w", err)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("smtp: to: %w", err)
	}
	msg, err := compose(from, to, m)
	if err != nil {
		return err
	}
	timeout := ml.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ml.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// A context cancelled mid-conversation cuts the connection.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	host, _, _ := net.SplitHostPort(ml.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := ml.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if ml.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", ml.Username, ml.Password, host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp: mail from: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp: rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp: quit: %w", err)
	}
	return nil
}

// compose writes the message: headers (the subject Q-encoded when not
// ASCII; no CR or LF from the input reaches them) and the text, quoted-
// printable in UTF-8.
func compose(from, to *netmail.Address, m doorman.Email) ([]byte, error) {
	subject := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, m.Subject)
	var id [16]byte
	rand.Read(id[:])
	_, domain, _ := strings.Cut(from.Address, "@")
	var b strings.Builder
	b.WriteString("From: " + from.String() + "\r\n")
	b.WriteString("To: " + to.String() + "\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + hex.EncodeToString(id[:]) + "@" + domain + ">\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	if m.HTML == "" {
		if err := writePart(&b, "text/plain", m.Text); err != nil {
			return nil, err
		}
		return []byte(b.String()), nil
	}
	// Quoted-printable lines never start with "--", so a random boundary
	// cannot occur in either part.
	var rb [12]byte
	rand.Read(rb[:])
	boundary := "doorman-" + hex.EncodeToString(rb[:])
	b.WriteString("Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n")
	for _, part := range [][2]string{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		b.WriteString("--" + boundary + "\r\n")
		if err := writePart(&b, part[0], part[1]); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return []byte(b.String()), nil
}

// writePart writes the Content-Type and encoding headers of a body of
// that type and the body, quoted-printable in UTF-8.
func writePart(b *strings.Builder, contentType, body string) error {
	b.WriteString("Content-Type: " + contentType + "; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&stringWriter{b})
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}

type stringWriter struct{ b *strings.Builder }

func (w *stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }
