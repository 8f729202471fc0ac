// Package smtptest runs a minimal SMTP server on 127.0.0.1 for tests: EHLO or
// HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, without TLS or
// authentication. It records every message it accepts.
package smtptest

import (
	"bufio"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// Message is one accepted message.
type Message struct {
	From string   // the MAIL FROM address
	To   []string // the RCPT TO addresses
	Data string   // headers and body as sent, CRLF line ends, dot-unstuffed
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is the server's host:port.
	Addr string

	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	wg   sync.WaitGroup
}

// Start starts a server on a free port of 127.0.0.1 and stops it when the
// test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() {
	s.ln.Close()
	s.wg.Wait()
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.session(textproto.NewConn(conn))
		}()
	}
}

func (s *Server) session(c *textproto.Conn) {
	c.PrintfLine("220 smtptest ESMTP ready")
	var m Message
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			c.PrintfLine("250-smtptest greets %s", arg)
			c.PrintfLine("250-8BITMIME")
			c.PrintfLine("250 SMTPUTF8")
		case "HELO":
			c.PrintfLine("250 smtptest")
		case "MAIL":
			m = Message{From: address(arg)}
			c.PrintfLine("250 OK")
		case "RCPT":
			if m.From == "" {
				c.PrintfLine("503 MAIL first")
				continue
			}
			m.To = append(m.To, address(arg))
			c.PrintfLine("250 OK")
		case "DATA":
			if len(m.To) == 0 {
				c.PrintfLine("503 RCPT first")
				continue
			}
			c.PrintfLine("354 End data with <CR><LF>.<CR><LF>")
			lines, err := c.ReadDotLines()
			if err != nil {
				return
			}
			m.Data = strings.Join(lines, "\r\n")
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			m = Message{}
			c.PrintfLine("250 OK queued")
		case "RSET":
			m = Message{}
			c.PrintfLine("250 OK")
		case "NOOP":
			c.PrintfLine("250 OK")
		case "QUIT":
			c.PrintfLine("221 Bye")
			return
		default:
			c.PrintfLine("502 command not implemented")
		}
	}
}

// address takes the address out of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func address(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '>'); strings.HasPrefix(v, "<") && i > 0 {
		return v[1:i]
	}
	return v
}

// Reader returns a bufio.Reader over a message's Data, for net/mail.
func (m Message) Reader() *bufio.Reader { return bufio.NewReader(strings.NewReader(m.Data + "\r\n")) }

// Bodies returns a message's plain-text and HTML bodies, decoded (quoted-
// printable and CRLF line ends undone): the one body of a text/plain
// message, or the parts of a multipart/alternative one.
func (m Message) Bodies() (text, html string, err error) {
	msg, err := mail.ReadMessage(m.Reader())
	if err != nil {
		return "", "", err
	}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", "", err
	}
	if !strings.HasPrefix(typ, "multipart/") {
		body, err := decodePart(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return body, "", err
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return text, html, nil
		}
		if err != nil {
			return "", "", err
		}
		body, err := decodePart(p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return "", "", err
		}
		switch pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt {
		case "text/plain":
			text = body
		case "text/html":
			html = body
		}
	}
}

func decodePart(encoding string, r io.Reader) (string, error) {
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}
