package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/object"
)

// errGone: the source version no longer exists (or must not replicate):
// the entry is dropped.
var errGone = errors.New("source version is gone")

func isGone(err error) bool {
	return errors.Is(err, meta.ErrNotFound) || errors.Is(err, object.ErrNoSuchVersion) ||
		errors.Is(err, object.ErrNoSuchKey) || errors.Is(err, object.ErrNoSuchBucket)
}

// process runs one outbox entry and records its outcome.
func (r *Replicator) process(ctx context.Context, e meta.OutboxEntry) {
	if ctx.Err() != nil {
		return
	}
	cur, err := r.opts.Meta.OutboxEntry(ctx, e.ID)
	if err != nil {
		if !errors.Is(err, meta.ErrNotFound) && ctx.Err() == nil {
			r.log.Error("reading an outbox entry failed", "id", e.ID, "err", err)
		}
		return
	}
	if cur.State != meta.OutboxPending || cur.NextTry.After(r.now()) {
		return // changed since the scan read it
	}
	gen := r.roleGeneration(cur.Role)
	size, err := r.replicate(ctx, &cur)
	if ctx.Err() != nil {
		return // shutting down: the entry stays as it is and runs again
	}
	lbl := []string{cur.Bucket, cur.RuleID, cur.DestBucket}
	switch {
	case err == nil:
		r.destUp(cur.DestBucket)
		if err := r.setTarget(ctx, &cur, meta.ReplCompleted, ""); err != nil && !isGone(err) {
			r.retryLater(ctx, &cur, &opError{Reason: ReasonOther, Msg: "recording COMPLETED: " + err.Error()})
			return
		}
		if err := r.deleteEntry(ctx, cur.ID); err != nil {
			r.log.Error("deleting a done outbox entry failed (it will run again, harmlessly)", "id", cur.ID, "err", err)
		}
		r.met.replicatedOps.WithLabelValues(lbl...).Inc()
		r.met.replicatedB.WithLabelValues(lbl...).Add(float64(size))
		r.met.lag.WithLabelValues(lbl...).Observe(max(0, r.now().Sub(cur.CreatedAt).Seconds()))
	case errors.Is(err, errGone):
		r.log.Info("source version deleted before it replicated: nothing to copy, entry dropped",
			"bucket", cur.Bucket, "key", cur.Key, "version", cur.VersionID, "destination", cur.DestBucket, "why", err.Error())
		if err := r.deleteEntry(ctx, cur.ID); err != nil {
			r.log.Error("deleting an outbox entry failed", "id", cur.ID, "err", err)
		}
	default:
		oe := classify(err, "replicating")
		r.met.failures.WithLabelValues(cur.Bucket, cur.RuleID, cur.DestBucket, oe.Reason).Inc()
		if oe.CredsStale {
			r.creds.forget(cur.Role)
		}
		if oe.Permanent && r.roleGeneration(cur.Role) != gen {
			// The role changed while this attempt ran under its old
			// policy: try again under the new one instead of failing.
			r.retryLater(ctx, &cur, oe)
			return
		}
		if oe.Permanent {
			r.fail(ctx, &cur, oe)
			return
		}
		if oe.DestDown {
			// The destination as a whole is paused and probed: the entry
			// runs again as soon as it answers, without a backoff of its
			// own (which would grow with every probe of a long outage
			// and hold the entry back long after the destination is up).
			r.destDown(cur.DestBucket)
			r.waitForDest(ctx, &cur, oe)
			return
		}
		r.retryLater(ctx, &cur, oe)
	}
}

func (r *Replicator) fail(ctx context.Context, e *meta.OutboxEntry, oe *opError) {
	r.log.Warn("replication failed; the version is FAILED until retried", "bucket", e.Bucket, "key", e.Key,
		"version", e.VersionID, "destination", e.DestBucket, "reason", oe.Msg)
	// The entry first, then the version: once a version reads FAILED its
	// entry is already there for RetryFailed and OnRoleChange to find.
	if err := r.updateEntry(ctx, e.ID, func(x *meta.OutboxEntry) {
		x.State = meta.OutboxFailed
		x.Attempts++
		x.LastError = oe.Msg
		x.NextTry = time.Time{}
	}); err != nil {
		r.log.Error("recording a failed outbox entry failed", "id", e.ID, "err", err)
	}
	if err := r.setTarget(ctx, e, meta.ReplFailed, oe.Msg); err != nil && !isGone(err) {
		r.log.Error("recording FAILED on the version failed", "bucket", e.Bucket, "key", e.Key, "err", err)
	}
}

func (r *Replicator) retryLater(ctx context.Context, e *meta.OutboxEntry, oe *opError) {
	attempts := e.Attempts + 1
	next := r.now().Add(r.opts.Backoff.Delay(attempts, r.jitter()))
	r.log.Debug("replication will be retried", "bucket", e.Bucket, "key", e.Key, "destination", e.DestBucket,
		"attempts", attempts, "next", next, "err", oe.Msg)
	if err := r.updateEntry(ctx, e.ID, func(x *meta.OutboxEntry) {
		x.Attempts = attempts
		x.NextTry = next
		x.LastError = oe.Msg
	}); err != nil {
		r.log.Error("recording a retry failed", "id", e.ID, "err", err)
	}
	r.noteDue(next)
}

// waitForDest records a failure of an entry whose destination is paused;
// the entry keeps its attempts and runs when the destination is up again.
func (r *Replicator) waitForDest(ctx context.Context, e *meta.OutboxEntry, oe *opError) {
	r.log.Debug("destination unreachable; the entry waits for it", "bucket", e.Bucket, "key", e.Key,
		"destination", e.DestBucket, "err", oe.Msg)
	if err := r.updateEntry(ctx, e.ID, func(x *meta.OutboxEntry) {
		x.NextTry = time.Time{}
		x.LastError = oe.Msg
	}); err != nil {
		r.log.Error("recording a retry failed", "id", e.ID, "err", err)
	}
}

// maxProbeInterval caps the pause of an unreachable destination, so that
// replication resumes soon after a long outage ends.
const maxProbeInterval = 30 * time.Second

func (r *Replicator) destDown(name string) {
	now := r.now()
	frac := r.jitter()
	r.mu.Lock()
	d := r.dests[name]
	if d == nil {
		d = &dest{}
		r.dests[name] = d
	}
	if d.downUntil.After(now) {
		// Already paused: the other operations that were in flight when
		// it went down fail too, but an outage counts once per probe.
		r.mu.Unlock()
		return
	}
	d.failures++
	b := r.opts.Backoff
	b.Max = min(b.Max, maxProbeInterval)
	d.downUntil = now.Add(b.Delay(d.failures, frac))
	until := d.downUntil
	r.mu.Unlock()
	r.noteDue(until)
}

func (r *Replicator) destUp(name string) {
	r.mu.Lock()
	_, was := r.dests[name]
	delete(r.dests, name)
	r.mu.Unlock()
	if was {
		r.kick() // entries skipped while it was down run now
	}
}

func (r *Replicator) setTarget(ctx context.Context, e *meta.OutboxEntry, status, reason string) error {
	return r.opts.Source.SetReplicationTarget(ctx, e.Bucket, e.Key, e.VersionID, meta.ReplTarget{
		RuleID: e.RuleID, DestBucket: e.DestBucket, Status: status, Reason: reason,
	})
}

// updateEntry changes an outbox entry if it still exists.
func (r *Replicator) updateEntry(ctx context.Context, id string, fn func(*meta.OutboxEntry)) error {
	r.outboxMu.Lock()
	defer r.outboxMu.Unlock()
	return r.opts.Meta.Update(ctx, func(tx meta.Tx) error {
		e, err := tx.OutboxEntry(ctx, id)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		fn(&e)
		return tx.PutOutbox(ctx, e)
	})
}

// deleteEntry removes a done entry. It does not take outboxMu, so that
// deletes of concurrent workers share durable log writes; an update racing
// with it can at worst bring the entry back, which runs again harmlessly.
func (r *Replicator) deleteEntry(ctx context.Context, id string) error {
	err := r.opts.Meta.Update(ctx, func(tx meta.Tx) error { return tx.DeleteOutbox(ctx, id) })
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return err
}

// replicate copies one entry's version to its destination and returns the
// number of object bytes sent.
func (r *Replicator) replicate(ctx context.Context, e *meta.OutboxEntry) (int64, error) {
	v, err := r.opts.Meta.Version(ctx, e.Bucket, e.Key, e.VersionID)
	if err != nil {
		if isGone(err) {
			return 0, fmt.Errorf("%w: %v", errGone, err)
		}
		return 0, err
	}
	if v.ReplicationStatus == meta.ReplReplica {
		return 0, fmt.Errorf("%w: version %s is a REPLICA, which never replicates again", errGone, v.VersionID)
	}
	zone, endpoint, ok := r.opts.Peers.BucketZone(e.DestBucket)
	if !ok {
		return 0, permanent(ReasonNoSuchBucket, "destination bucket %s does not exist in any zone", e.DestBucket)
	}
	creds, err := r.creds.get(ctx, e.Role, zone)
	if err != nil {
		if errors.Is(err, ErrUnknownRole) {
			return 0, permanent(ReasonAccessDenied, "role %s: %v", e.Role, err)
		}
		return 0, &opError{Reason: ReasonCredentials, Msg: fmt.Sprintf("getting credentials of role %s: %v", e.Role, err), Err: err}
	}
	dec := r.opts.Authz.AuthorizeRole(e.Role, iam.Request{
		Operation: "get-object", Bucket: e.Bucket, Key: e.Key, VersionID: e.VersionID,
		Zone: r.opts.Zone, Now: r.now(), APIKey: creds.AccessKey,
	})
	if !dec.Allowed {
		return 0, permanent(ReasonAccessDenied, "role %s does not allow get-object on %s/%s (%s)", e.Role, e.Bucket, e.Key, dec.Explain())
	}
	pc := r.peers.get(zone, endpoint)
	session := sessionOf(creds)
	rep := replicaOf(e.DestBucket, &v)
	if e.Op == meta.OpTags && !v.IsDeleteMarker {
		err := pc.PutTags(ctx, session, rep)
		if err == nil || !isMissingOnDest(err) {
			return 0, err
		}
		// The version is not there yet (or any more): copy it whole, with
		// its current tags.
	}
	if v.IsDeleteMarker {
		return 0, pc.PutDeleteMarker(ctx, session, rep)
	}
	ov, body, err := r.opts.Source.OpenVersion(ctx, e.Bucket, e.Key, e.VersionID)
	if err != nil {
		if isGone(err) {
			return 0, fmt.Errorf("%w: %v", errGone, err)
		}
		return 0, err
	}
	defer body.Close()
	rep = replicaOf(e.DestBucket, &ov)
	if len(rep.PartSizes) > 0 || ov.Size > r.opts.MultipartThreshold {
		// A multipart version goes in its own parts, whatever its size.
		return ov.Size, pc.PutMultipart(ctx, session, rep, body, r.opts.PartSize)
	}
	return ov.Size, pc.Put(ctx, session, rep, body)
}
