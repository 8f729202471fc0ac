package storetest

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var touchTests = []test{
	{"Forward", testTouchForward},
	{"NotFound", testTouchNotFound},
	{"UserAgentAndDevice", testTouchDevice},
}

func testTouchDevice(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s := e.session(u, nil)
	bystander := e.session(u, nil)
	want := *s
	step := func(what string, tc doorman.Touch) {
		t.Helper()
		ok(t, e.s.TouchSession(e.ctx, s.ID, tc), "TouchSession "+what)
		diffSession(e.sessionByID(s.ID), &want).report(t, "session after TouchSession "+what)
		p, err := e.s.FindSessionByTokenHash(e.ctx, s.TokenHash)
		ok(t, err, "FindSessionByTokenHash after TouchSession "+what)
		diffSession(p.Session, &want).report(t, "FindSessionByTokenHash after TouchSession "+what)
	}
	windows := doorman.Device{Browser: "Edge", BrowserVersion: "131.0", OS: "Windows", OSVersion: "11", Model: "PC", Type: "desktop"}
	const edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"

	want.LastActiveAt, want.UserAgent, want.Device, want.Activity.Actions = at(time.Minute), edge, windows, 1
	step("new User-Agent and device", doorman.Touch{At: at(time.Minute), Actions: 1, UserAgent: edge, Device: &windows})

	// The Client Hints told more: the device changes, the string does not.
	windows.OSVersion = "10"
	want.Device = windows
	step("device only", doorman.Touch{At: at(time.Minute), Device: &windows})

	// No detector: the string changes, the device stays.
	want.UserAgent = "curl/8.5.0"
	step("User-Agent only", doorman.Touch{UserAgent: "curl/8.5.0"})

	// An empty device is a device: "Unknown browser".
	want.Device = doorman.Device{}
	step("empty device", doorman.Touch{Device: &doorman.Device{}})

	// Nothing but activity keeps both.
	want.Activity.Actions, want.Activity.LastPage = 3, "Settings"
	step("activity only", doorman.Touch{Actions: 2, LastPage: "Settings"})

	diffSession(e.sessionByID(bystander.ID), bystander).report(t, "other session after TouchSession")
}

func testTouchForward(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s := e.session(u, func(s *doorman.Session) { s.Activity = doorman.Activity{Logins: 2, Actions: 10, LastPage: "Sign in"} })
	bystander := e.session(u, nil)
	want := *s

	step := func(what string, tc doorman.Touch) {
		t.Helper()
		ok(t, e.s.TouchSession(e.ctx, s.ID, tc), "TouchSession "+what)
		diffSession(e.sessionByID(s.ID), &want).report(t, "session after TouchSession "+what)
	}

	want.LastActiveAt, want.IP, want.Activity.Actions, want.Activity.LastPage = at(time.Minute+7*us), "198.51.100.9", 13, "Active sessions"
	step("forward", doorman.Touch{At: at(time.Minute + 7*us), IP: "198.51.100.9", Actions: 3, LastPage: "Active sessions"})

	// An older At (a slower node's late write) must not move it back, but its actions count.
	want.Activity.Actions = 18
	step("with an older At", doorman.Touch{At: at(30 * time.Second), Actions: 5})

	// A zero At keeps LastActiveAt; empty IP and LastPage keep theirs.
	want.Activity.Actions = 19
	step("with a zero At", doorman.Touch{Actions: 1})

	// The same At again is not "backwards".
	want.IP, want.Activity.LastPage = "203.0.113.99", "Settings"
	step("with the same At", doorman.Touch{At: at(time.Minute + 7*us), IP: "203.0.113.99", LastPage: "Settings"})

	want.LastActiveAt, want.Activity.Actions = at(2*time.Minute+us), 20
	step("forward by a microsecond past a minute", doorman.Touch{At: at(2*time.Minute + us), Actions: 1})

	diffSession(e.sessionByID(bystander.ID), bystander).report(t, "other session after TouchSession")
}

func testTouchNotFound(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	e.session(e.user(a, "ana@example.com"), nil)
	err := e.s.TouchSession(e.ctx, "sess_missing", doorman.Touch{At: Base, Actions: 1})
	wantCode(t, err, doorman.ENOTFOUND, "TouchSession(unknown id)")
}
