package replication

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"time"

	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/replconfig"
	"sos/internal/s3client"
	"sos/internal/versionid"
)

// StatusReport is the replication status of a bucket, as served by
// GET /{bucket}?sos-replication-status. The wire type is s3client's, the
// one place where the clients read it too.
type StatusReport = s3client.ReplicationStatus

// RuleStatus is the state of one rule (and destination); its Status is
// Enabled, Disabled, or Removed (entries left by a rule no longer
// configured).
type RuleStatus = s3client.RuleStatus

// FailureInfo is one FAILED version and why.
type FailureInfo = s3client.FailureInfo

// MaxReportedFailures bounds the failures listed per rule in a status.
const MaxReportedFailures = 100

// forEachOutbox calls fn for every outbox entry, reading in batches so that
// fn may write to the store.
func (r *Replicator) forEachOutbox(ctx context.Context, fn func(e meta.OutboxEntry) error) error {
	cursor := ""
	scan := func(each func(meta.OutboxEntry) error) error { return r.opts.Meta.ScanOutbox(ctx, cursor, each) }
	return inBatches(r.opts.BatchSize, scan, func(batch []meta.OutboxEntry) error {
		for _, e := range batch {
			cursor = e.ID
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// forEachVersion calls fn for every version of bucket (without data),
// reading in batches so that fn may write to the store.
func (r *Replicator) forEachVersion(ctx context.Context, bucket string, fn func(v meta.Version) error) error {
	opts := meta.ScanOptions{Bucket: bucket}
	scan := func(each func(meta.Version) error) error { return r.opts.Meta.ScanVersions(ctx, opts, each) }
	return inBatches(r.opts.BatchSize, scan, func(batch []meta.Version) error {
		for _, v := range batch {
			opts.StartKey, opts.AfterStamp = v.Key, v.Stamp
			if err := fn(v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (r *Replicator) bucketConfig(ctx context.Context, bucket string) (*replconfig.Config, error) {
	b, err := r.opts.Meta.Bucket(ctx, bucket)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", object.ErrNoSuchBucket, bucket)
	}
	if err != nil {
		return nil, err
	}
	return object.ReplicationOf(b), nil
}

// Status reports the replication state of bucket's rules: pending and
// failed operations from the outbox, completed versions from the bucket.
func (r *Replicator) Status(ctx context.Context, bucket string) (StatusReport, error) {
	cfg, err := r.bucketConfig(ctx, bucket)
	if err != nil {
		return StatusReport{}, err
	}
	rep := StatusReport{Bucket: bucket, Rules: []RuleStatus{}}
	idx := map[[2]string]int{}
	row := func(rule, dst, status string) *RuleStatus {
		k := [2]string{rule, dst}
		if i, ok := idx[k]; ok {
			return &rep.Rules[i]
		}
		idx[k] = len(rep.Rules)
		rep.Rules = append(rep.Rules, RuleStatus{ID: rule, Destination: dst, Status: status, Failures: []FailureInfo{}})
		return &rep.Rules[len(rep.Rules)-1]
	}
	if cfg != nil {
		for _, ru := range cfg.Rules {
			row(ru.ID, ru.DestBucket(), ru.Status)
		}
	}
	now := r.now()
	// Keyed by rule and destination: rows appended below move rep.Rules,
	// so pointers into it would not stay the same.
	oldest := map[[2]string]time.Time{}
	err = r.forEachOutbox(ctx, func(e meta.OutboxEntry) error {
		if e.Bucket != bucket {
			return nil
		}
		rs := row(e.RuleID, e.DestBucket, "Removed")
		if e.State == meta.OutboxFailed {
			rs.Failed++
			if len(rs.Failures) < MaxReportedFailures {
				rs.Failures = append(rs.Failures, FailureInfo{Key: e.Key, VersionID: e.VersionID, Reason: e.LastError})
			}
			return nil
		}
		rs.Pending++
		rs.PendingBytes += e.Size
		k := [2]string{rs.ID, rs.Destination}
		if o, ok := oldest[k]; !ok || e.CreatedAt.Before(o) {
			oldest[k] = e.CreatedAt
		}
		return nil
	})
	if err != nil {
		return StatusReport{}, err
	}
	for i := range rep.Rules {
		rs := &rep.Rules[i]
		if o, ok := oldest[[2]string{rs.ID, rs.Destination}]; ok {
			rs.OldestPendingSeconds = max(0, now.Sub(o).Seconds())
		}
	}
	err = r.opts.Meta.ScanVersions(ctx, meta.ScanOptions{Bucket: bucket}, func(v meta.Version) error {
		for _, t := range v.ReplTargets {
			if t.Status != meta.ReplCompleted {
				continue
			}
			if i, ok := idx[[2]string{t.RuleID, t.DestBucket}]; ok {
				rep.Rules[i].Completed++
			}
		}
		return nil
	})
	if err != nil {
		return StatusReport{}, err
	}
	return rep, nil
}

// RetryFailed puts bucket's FAILED operations back to pending and returns
// how many.
func (r *Replicator) RetryFailed(ctx context.Context, bucket string) (int, error) {
	return r.retryWhere(ctx, bucket, func(e *meta.OutboxEntry) bool { return e.Bucket == bucket }, nil)
}

// OnRoleChange retries the FAILED operations that run under roleID (its
// policy may allow them now) and drops its cached credentials.
func (r *Replicator) OnRoleChange(ctx context.Context, roleID string) {
	r.mu.Lock()
	r.roleGen[roleID]++
	r.mu.Unlock()
	r.creds.forget(roleID)
	n, err := r.retryWhere(ctx, "", func(e *meta.OutboxEntry) bool { return e.Role == roleID }, nil)
	if err != nil {
		r.log.Error("retrying failed replication after a role change", "role", roleID, "err", err)
		return
	}
	if n > 0 {
		r.log.Info("role changed: failed replication operations retried", "role", roleID, "retried", n)
	}
}

// OnConfigChange is called after bucket's replication configuration was
// set or removed: its FAILED operations are retried (under the new role
// when the role changed), and existing versions are backfilled in the
// background when a rule asks for ExistingObjectReplication.
func (r *Replicator) OnConfigChange(ctx context.Context, bucket string) {
	cfg, err := r.bucketConfig(ctx, bucket)
	if err != nil {
		r.log.Error("reading the replication configuration after a change", "bucket", bucket, "err", err)
		return
	}
	var setRole func(*meta.OutboxEntry)
	if cfg != nil {
		setRole = func(e *meta.OutboxEntry) { e.Role = cfg.Role }
	}
	n, err := r.retryWhere(ctx, bucket, func(e *meta.OutboxEntry) bool { return e.Bucket == bucket }, setRole)
	if err != nil {
		r.log.Error("retrying failed replication after a configuration change", "bucket", bucket, "err", err)
	} else if n > 0 {
		r.log.Info("configuration changed: failed replication operations retried", "bucket", bucket, "retried", n)
	}
	if cfg == nil {
		return
	}
	for _, ru := range cfg.Rules {
		if ru.Enabled() && ru.ExistingObjects() {
			select {
			case r.resyncQ <- bucket:
			default:
				r.log.Warn("backfill queue full; run a resync later", "bucket", bucket)
			}
			return
		}
	}
}

// retryWhere makes matching FAILED entries pending again (and applies
// change, when set, to every matching entry, pending or failed).
func (r *Replicator) retryWhere(ctx context.Context, bucket string, match func(*meta.OutboxEntry) bool, change func(*meta.OutboxEntry)) (int, error) {
	n := 0
	err := r.forEachOutbox(ctx, func(e meta.OutboxEntry) error {
		if !match(&e) {
			return nil
		}
		wasFailed := e.State == meta.OutboxFailed
		if !wasFailed && change == nil {
			return nil
		}
		if err := r.updateEntry(ctx, e.ID, func(x *meta.OutboxEntry) {
			if change != nil {
				change(x)
			}
			if x.State == meta.OutboxFailed {
				x.State = meta.OutboxPending
				x.Attempts = 0
				x.NextTry = time.Time{}
				x.LastError = ""
			}
		}); err != nil {
			return err
		}
		if !wasFailed {
			return nil
		}
		n++
		r.met.retries.WithLabelValues(e.Bucket).Inc()
		err := r.setTarget(ctx, &e, meta.ReplPending, "")
		if err != nil && !isGone(err) {
			return err
		}
		return nil
	})
	if n > 0 {
		r.kick()
	}
	return n, err
}

// Resync queues every version of bucket that a rule matches and that is
// neither COMPLETED towards that rule's destination nor already queued
// (existing objects, versions written before the rule, versions whose
// entry was lost), and returns how many operations it queued. Replicas and
// null versions are not replicated; delete markers only where the rule
// replicates them.
func (r *Replicator) Resync(ctx context.Context, bucket string) (int, error) {
	cfg, err := r.bucketConfig(ctx, bucket)
	if err != nil {
		return 0, err
	}
	if cfg == nil {
		return 0, fmt.Errorf("%w: bucket %s has no replication configuration", object.ErrReplicationConfigNotFound, bucket)
	}
	seed := maphash.MakeSeed()
	hash := func(key, version, dst string) uint64 {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(key)
		h.WriteByte(0)
		h.WriteString(version)
		h.WriteByte(0)
		h.WriteString(dst)
		return h.Sum64()
	}
	queued := map[uint64]struct{}{}
	err = r.forEachOutbox(ctx, func(e meta.OutboxEntry) error {
		if e.Bucket == bucket {
			queued[hash(e.Key, e.VersionID, e.DestBucket)] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	clock := r.opts.Clock
	if clock == nil {
		clock = versionid.New(r.opts.Zone, r.now)
	}
	n := 0
	err = r.forEachVersion(ctx, bucket, func(v meta.Version) error {
		if v.ReplicationStatus == meta.ReplReplica || v.VersionID == meta.NullVersionID {
			return nil
		}
		for _, m := range cfg.Matches(v.Key, v.Tags) {
			if v.IsDeleteMarker && !m.DeleteMarkers {
				continue
			}
			if i := meta.TargetIndex(v.ReplTargets, m.DestBucket); i >= 0 && v.ReplTargets[i].Status == meta.ReplCompleted {
				continue
			}
			if _, ok := queued[hash(v.Key, v.VersionID, m.DestBucket)]; ok {
				continue
			}
			op := meta.OpPut
			if v.IsDeleteMarker {
				op = meta.OpDeleteMarker
			}
			// A stamp is unique only among its clock's, and clock is a
			// fresh one when Options.Clock is unset: the "r" suffix keeps
			// backfill IDs apart from the object service's then (it sorts
			// right after the same stamp without it).
			e := object.NewOutboxEntry(versionid.Format(clock.Now())+"r", v, op, m, cfg.Role, r.now().UTC())
			if err := r.opts.Meta.Update(ctx, func(tx meta.Tx) error { return tx.PutOutbox(ctx, e) }); err != nil {
				return err
			}
			if err := r.setTarget(ctx, &e, meta.ReplPending, ""); err != nil && !isGone(err) {
				return err
			}
			n++
		}
		return nil
	})
	if n > 0 {
		r.Wake()
		r.kick()
	}
	return n, err
}

// roleGeneration counts the changes of a role seen by OnRoleChange: an
// attempt that fails for good under a role that changed meanwhile is
// retried rather than marked FAILED.
func (r *Replicator) roleGeneration(roleID string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.roleGen[roleID]
}
