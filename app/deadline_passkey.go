package app

import (
	"context"
	"time"

	"github.com/doorman/doorman"
)

// The deadlineStore's wrappers of doorman.PasskeyStore.

func (st *deadlineStore) CreatePasskey(ctx context.Context, pk *doorman.Passkey, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreatePasskey(bctx, pk, ev))
}

func (st *deadlineStore) FindPasskeys(ctx context.Context, accountID, userID string) ([]*doorman.Passkey, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindPasskeys(bctx, accountID, userID)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*doorman.Passkey, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindPasskeyByCredentialID(bctx, credentialID)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) UsePasskey(ctx context.Context, accountID, id string, u doorman.PasskeyUse, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.UsePasskey(bctx, accountID, id, u, ev))
}

func (st *deadlineStore) DeletePasskey(ctx context.Context, accountID, userID, id string, ev *doorman.AuditEvent) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.DeletePasskey(bctx, accountID, userID, id, ev))
}

func (st *deadlineStore) CreatePasskeyCeremony(ctx context.Context, c *doorman.PasskeyCeremony) error {
	bctx, call := st.bound(ctx)
	defer call.release()
	return st.done(bctx, st.store.CreatePasskeyCeremony(bctx, c))
}

func (st *deadlineStore) TakePasskeyCeremony(ctx context.Context, hash []byte, now time.Time) (*doorman.PasskeyCeremony, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.TakePasskeyCeremony(bctx, hash, now)
	return r0, st.done(bctx, err)
}
