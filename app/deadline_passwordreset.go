package app

import (
	"context"
	"time"

	"github.com/doorman/doorman"
)

// The password reset calls of deadlineStore (deadline.go).

func (st *deadlineStore) NotePasswordResetRequest(ctx context.Context, q doorman.PasswordResetRequest, since time.Time) (int, int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, r1, err := st.store.NotePasswordResetRequest(bctx, q, since)
	return r0, r1, st.done(bctx, err)
}

func (st *deadlineStore) CreatePasswordReset(ctx context.Context, r *doorman.PasswordReset, a *doorman.Alert, ds []*doorman.Delivery, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreatePasswordReset(bctx, r, a, ds, ev))
}

func (st *deadlineStore) FindPasswordResetByTokenHash(ctx context.Context, hash []byte) (*doorman.PasswordReset, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindPasswordResetByTokenHash(bctx, hash)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) UsePasswordReset(ctx context.Context, accountID, id, hash string, r doorman.Revocation, ev *doorman.AuditEvent) (int, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.UsePasswordReset(bctx, accountID, id, hash, r, ev)
	return r0, st.done(bctx, err)
}
