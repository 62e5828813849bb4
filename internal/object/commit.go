package object

import (
	"context"

	"sos/internal/meta"
)

// update runs fn in one metadata transaction, as s.meta.Update does, and
// after the commit calls OnQueued when fn queued outbox entries. Every
// write of the service goes through it, so that no write method can queue
// entries without waking replication.
func (s *Service) update(ctx context.Context, fn func(tx meta.Tx) error) error {
	var q queueingTx
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		q = queueingTx{Tx: tx}
		return fn(&q)
	})
	if err == nil && q.queued && s.onQueued != nil {
		s.onQueued()
	}
	return err
}

// queueingTx is a meta.Tx that notes whether an outbox entry was put.
type queueingTx struct {
	meta.Tx
	queued bool
}

func (t *queueingTx) PutOutbox(ctx context.Context, e meta.OutboxEntry) error {
	if err := t.Tx.PutOutbox(ctx, e); err != nil {
		return err
	}
	t.queued = true
	return nil
}
