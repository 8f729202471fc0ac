package app

import (
	"context"
	"time"

	"github.com/doorman/doorman"
)

// The one-time form token calls of deadlineStore (deadline.go).

func (st *deadlineStore) ClaimFormToken(ctx context.Context, t *doorman.FormToken) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.ClaimFormToken(bctx, t))
}

func (st *deadlineStore) FinishFormToken(ctx context.Context, t *doorman.FormToken) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.FinishFormToken(bctx, t))
}

func (st *deadlineStore) ReleaseFormToken(ctx context.Context, sessionID string, hash []byte) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.ReleaseFormToken(bctx, sessionID, hash))
}

func (st *deadlineStore) FindFormToken(ctx context.Context, sessionID string, hash []byte) (*doorman.FormToken, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindFormToken(bctx, sessionID, hash)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) PurgeFormTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.PurgeFormTokens(bctx, before, limit)
	return r0, st.done(bctx, err)
}
