package app

import (
	"context"
	"time"

	"github.com/doorman/doorman"
)

// The device binding calls of deadlineStore (deadline.go).

func (st *deadlineStore) CreateBindingChallenge(ctx context.Context, c *doorman.BindingChallenge) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreateBindingChallenge(bctx, c))
}

func (st *deadlineStore) UseBindingChallenge(ctx context.Context, sessionID string, hash []byte, at time.Time) (*doorman.BindingChallenge, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.UseBindingChallenge(bctx, sessionID, hash, at)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) BindSession(ctx context.Context, sessionID string, b *doorman.Binding, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.BindSession(bctx, sessionID, b, ev))
}
