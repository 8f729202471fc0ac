package app

import (
	"context"

	"github.com/doorman/doorman"
)

// The audit log's lookups of deadlineStore (deadline.go).

func (st *deadlineStore) FindAuditEventByID(ctx context.Context, accountID, id string) (*doorman.AuditEvent, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAuditEventByID(bctx, accountID, id)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindSessionsByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.Session, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindSessionsByIDs(bctx, accountID, ids)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindAPIKeysByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.APIKey, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindAPIKeysByIDs(bctx, accountID, ids)
	return r0, st.done(bctx, err)
}

func (st *deadlineStore) FindUsersByEmails(ctx context.Context, accountID string, emails []string) ([]*doorman.User, error) {
	bctx, call := st.bound(ctx)
	defer call.release()
	r0, err := st.store.FindUsersByEmails(bctx, accountID, emails)
	return r0, st.done(bctx, err)
}
