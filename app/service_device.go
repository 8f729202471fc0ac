package app

import (
	"cmp"
	"context"
	"github.com/doorman/doorman"
	"net/netip"
	"slices"
	"strings"
)

// detect names the client behind a User-Agent (already cut to MaxUserAgent)
// and its hints; an empty Device without a DeviceDetector or a User-Agent.
func (s *Service) detect(ua string, h doorman.ClientHints) doorman.Device {
	if s.Devices == nil || strings.TrimSpace(ua) == "" {
		return doorman.Device{}
	}
	d := s.Devices.Detect(ua, h)
	// The names may come from Client Hints, headers the client fills as it
	// likes; they are recorded, so odd bytes must not fail the write.
	for _, f := range []*string{&d.Browser, &d.BrowserVersion, &d.OS, &d.OSVersion, &d.Model, &d.Type} {
		*f = doorman.CleanText(*f, doorman.MaxUserAgent)
	}
	return d
}

// locate places an address; an empty Location without a Locator or for an
// address that does not parse.
func (s *Service) locate(ip string) doorman.Location {
	if s.Places == nil || ip == "" {
		return doorman.Location{}
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return doorman.Location{}
	}
	return s.Places.Locate(a)
}

// PlaceCredits names the sources of the places the service shows, for the
// pages to credit them: none without a Locator that names its data, or
// while it has none installed.
func (s *Service) PlaceCredits() []doorman.Credit {
	if c, ok := s.Places.(doorman.CreditedLocator); ok {
		return c.Credits()
	}
	return nil
}

// hintMask has one bit for each Client Hint that was sent.
func hintMask(h doorman.ClientHints) uint8 {
	var m uint8
	for i, v := range [...]string{h.Brands, h.FullVersionList, h.Mobile, h.Platform, h.PlatformVersion, h.Model} {
		if v != "" {
			m |= 1 << i
		}
	}
	return m
}

// change is what a request tells about its session that the session does
// not hold yet.
type change struct {
	loc      *doorman.Location // where the request's address is, when it is new
	ua       string            // a new User-Agent
	dev      *doorman.Device   // the client, detected anew
	detected bool              // dev was detected with the hints of mask hints
	hints    uint8
	risk     *doorman.Risk // the risk checks run again on the change; nil: unchanged
}

// changes compares a request with its session as this node knows it, and
// locates or detects only what differs, so that an unchanged session costs
// neither a lookup nor a parse:
//
//   - a new address is located;
//   - a new User-Agent is detected with the request's hints. An empty one
//     changes nothing: a client that leaves it out now and then (a script
//     with the browser's cookie, a prefetch) keeps its name;
//   - the same User-Agent is detected again only when the request carries
//     every Client Hint the Device was last detected with and more, as when
//     a browser sends the high-entropy hints it was asked for after the
//     sign-in. Never on fewer hints, so that a request without them cannot
//     turn Windows 11 back into 10. A node that has not seen the session
//     since it started does this once.
func (s *Service) changes(sess *doorman.Session, m Meta) change {
	var ch change
	v := s.activity.view(sess)
	if m.IP != "" && m.IP != v.ip && m.IP != sess.IP {
		loc := s.locate(m.IP)
		ch.loc = &loc
	}
	ua := m.userAgent()
	mask := hintMask(m.Hints)
	switch {
	case ua == "":
	case ua != v.ua:
		ch.ua = ua
		if s.Devices != nil {
			d := s.detect(ua, m.Hints)
			ch.dev, ch.detected, ch.hints = &d, true, mask
		}
	case s.Devices != nil && mask != v.hints && mask&v.hints == v.hints:
		d := s.detect(ua, m.Hints)
		ch.detected, ch.hints = true, mask
		if d != v.dev {
			ch.dev = &d
		}
	}
	return ch
}

// SessionHistory returns the addresses one of the signed-in user's valid
// sessions used, with where they were and when, most recently seen first.
// Another user's session, or one that has ended, is ENOTFOUND. EFORBIDDEN
// for a member when the Sessions page is restricted.
func (s *Service) SessionHistory(ctx context.Context, p *doorman.Principal, sessionID string) ([]*doorman.SessionIP, error) {
	if _, err := s.GetSession(ctx, p, sessionID); err != nil {
		return nil, err
	}
	list, err := s.Store.FindSessionIPs(ctx, p.Account.ID, sessionID)
	if err != nil {
		return nil, unavailable("session history", err)
	}
	return s.activity.overlayHistory(sessionID, list), nil
}

// overlayHistory adds the address this node has seen a session use but not
// yet written to its history: a later last seen, or (for an address written
// at the next touch) a row first seen as late as its latest request.
func (t *tracker) overlayHistory(id string, list []*doorman.SessionIP) []*doorman.SessionIP {
	t.mu.Lock()
	var tc doorman.Touch
	if p := t.m[id]; p != nil {
		tc = p.touch
	}
	t.mu.Unlock()
	if tc.IP == "" || tc.At.IsZero() {
		return list
	}
	i := slices.IndexFunc(list, func(r *doorman.SessionIP) bool { return r.IP == tc.IP })
	if i < 0 {
		r := &doorman.SessionIP{IP: tc.IP, FirstSeen: tc.At, LastSeen: tc.At}
		if tc.Location != nil {
			r.Location = *tc.Location
		}
		list = append(list, r)
	} else if r := list[i]; tc.At.After(r.LastSeen) {
		r.LastSeen = tc.At
		if tc.Location != nil {
			r.Location = *tc.Location
		}
	}
	slices.SortStableFunc(list, func(a, b *doorman.SessionIP) int {
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), strings.Compare(a.IP, b.IP))
	})
	return list
}
