package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/webhook"
)

func TestPostSigned(t *testing.T) {
	at := time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)
	body := []byte(`{"id":"alr_1","type":"session.suspicious_sign_in"}`)
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	status, err := webhook.New().Post(context.Background(), doorman.WebhookRequest{URL: srv.URL, Event: doorman.EventSuspiciousSignIn,
		DeliveryID: "dlv_1", Body: body, Secret: "whsec_test", At: at})
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("Post: %d, %v", status, err)
	}
	if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("X-Doorman-Event") != doorman.EventSuspiciousSignIn || got.Header.Get("X-Doorman-Delivery") != "dlv_1" {
		t.Errorf("request: %s %v", got.Method, got.Header)
	}
	sig := got.Header.Get("X-Doorman-Signature")
	if err := webhook.Verify("whsec_test", sig, gotBody, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("Verify: %v (%s)", err, sig)
	}
	if err := webhook.Verify("whsec_other", sig, gotBody, at, 5*time.Minute); err != webhook.ErrSignature {
		t.Errorf("Verify with another secret: %v", err)
	}
	if err := webhook.Verify("whsec_test", sig, append(gotBody, ' '), at, 5*time.Minute); err != webhook.ErrSignature {
		t.Errorf("Verify of an altered body: %v", err)
	}
	if err := webhook.Verify("whsec_test", sig, gotBody, at.Add(time.Hour), 5*time.Minute); err != webhook.ErrStale {
		t.Errorf("Verify an hour later: %v", err)
	}
	// The documented example: t=1767000000, body {} and secret "whsec_example".
	if s := webhook.Sign("whsec_example", time.Unix(1767000000, 0), []byte(`{}`)); len(s) != len("t=1767000000,v1=")+64 {
		t.Errorf("Sign = %q", s)
	}
}

func TestPostErrors(t *testing.T) {
	for _, code := range []int{http.StatusInternalServerError, http.StatusFound, http.StatusNotFound} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code == http.StatusFound {
				http.Redirect(w, r, "/elsewhere", code)
				return
			}
			w.WriteHeader(code)
		}))
		status, err := webhook.New().Post(context.Background(), doorman.WebhookRequest{URL: srv.URL, Body: []byte(`{}`), Secret: "s"})
		if err == nil || status != code {
			t.Errorf("answer %d: Post = %d, %v; want an error with the status", code, status, err)
		}
		srv.Close()
	}
	status, err := webhook.New().Post(context.Background(), doorman.WebhookRequest{URL: "http://127.0.0.1:1/hook?token=s3cret", Body: []byte(`{}`), Secret: "s"})
	if err == nil || status != 0 || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("no server: %d, %v (the error must not repeat the URL)", status, err)
	}
	// Link-local addresses (cloud metadata) are refused when dialled, so a
	// host name resolving to one is refused too; loopback is allowed (the
	// servers above).
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/", "http://[::ffff:169.254.1.1]/"} {
		status, err := webhook.New().Post(context.Background(), doorman.WebhookRequest{URL: u, Body: []byte(`{}`), Secret: "s"})
		if !errors.Is(err, webhook.ErrForbiddenAddress) || status != 0 {
			t.Errorf("Post(%s) = %d, %v; want ErrForbiddenAddress", u, status, err)
		}
	}
}
