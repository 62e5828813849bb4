package object

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sos/internal/meta"
	"sos/internal/replconfig"
	"sos/internal/versionid"
)

// replicationRecord is the record meta stores for a configuration (nil for
// nil): the one conversion from replconfig's type, with ReplicationOf the
// one back.
func replicationRecord(c *replconfig.Config) *meta.ReplicationConfig {
	if c == nil {
		return nil
	}
	out := &meta.ReplicationConfig{Role: c.Role}
	if len(c.Rules) > 0 {
		out.Rules = make([]meta.ReplicationRule, len(c.Rules))
	}
	for i, r := range c.Rules {
		m := meta.ReplicationRule{
			ID: r.ID, Priority: clone(r.Priority), Status: r.Status, Prefix: clone(r.Prefix),
			DeleteMarkerReplication:   statusOf(r.DeleteMarkerReplication),
			ExistingObjectReplication: statusOf(r.ExistingObjectReplication),
			Destination:               r.Destination.Bucket,
			StorageClass:              r.Destination.StorageClass,
		}
		if f := r.Filter; f != nil {
			mf := &meta.ReplicationFilter{Prefix: clone(f.Prefix)}
			if f.Tag != nil {
				mf.Tag = &meta.ReplicationTag{Key: f.Tag.Key, Value: f.Tag.Value}
			}
			if a := f.And; a != nil {
				mf.And = &meta.ReplicationAnd{Prefix: clone(a.Prefix)}
				for _, t := range a.Tags {
					mf.And.Tags = append(mf.And.Tags, meta.ReplicationTag{Key: t.Key, Value: t.Value})
				}
			}
			m.Filter = mf
		}
		out.Rules[i] = m
	}
	return out
}

// ReplicationOf returns the replication configuration of bucket record b
// (nil when it has none), for the replication workers and this service.
func ReplicationOf(b meta.Bucket) *replconfig.Config {
	c := b.Replication
	if c == nil {
		return nil
	}
	out := &replconfig.Config{Role: c.Role}
	if len(c.Rules) > 0 {
		out.Rules = make([]replconfig.Rule, len(c.Rules))
	}
	for i, m := range c.Rules {
		r := replconfig.Rule{
			ID: m.ID, Priority: clone(m.Priority), Status: m.Status, Prefix: clone(m.Prefix),
			DeleteMarkerReplication:   statusBlock(m.DeleteMarkerReplication),
			ExistingObjectReplication: statusBlock(m.ExistingObjectReplication),
			Destination:               replconfig.Destination{Bucket: m.Destination, StorageClass: m.StorageClass},
		}
		if mf := m.Filter; mf != nil {
			f := &replconfig.Filter{Prefix: clone(mf.Prefix)}
			if mf.Tag != nil {
				f.Tag = &replconfig.Tag{Key: mf.Tag.Key, Value: mf.Tag.Value}
			}
			if ma := mf.And; ma != nil {
				f.And = &replconfig.And{Prefix: clone(ma.Prefix)}
				for _, t := range ma.Tags {
					f.And.Tags = append(f.And.Tags, replconfig.Tag{Key: t.Key, Value: t.Value})
				}
			}
			r.Filter = f
		}
		out.Rules[i] = r
	}
	return out
}

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// statusOf and statusBlock map an optional Enabled/Disabled block to the
// record's string ("" when absent) and back.
func statusOf(b *replconfig.StatusBlock) string {
	if b == nil {
		return ""
	}
	return b.Status
}

func statusBlock(s string) *replconfig.StatusBlock {
	if s == "" {
		return nil
	}
	return &replconfig.StatusBlock{Status: s}
}

// planReplication decides, for a version about to be committed by a local
// write (op is meta.OpPut, meta.OpDeleteMarker or meta.OpTags), which
// destinations it goes to: it sets v's ReplTargets and ReplicationStatus
// and returns the outbox entries to commit with it. Replicas never
// replicate.
func (s *Service) planReplication(b meta.Bucket, v *meta.Version, op string) ([]meta.OutboxEntry, error) {
	if v.ReplicationStatus == meta.ReplReplica {
		return nil, nil
	}
	cfg := ReplicationOf(b)
	if cfg == nil {
		return nil, nil
	}
	matches := cfg.Matches(v.Key, v.Tags)
	var entries []meta.OutboxEntry
	var targets []meta.ReplTarget
	if op == meta.OpTags {
		targets = append(targets, v.ReplTargets...)
	}
	now := s.now().UTC()
	for _, m := range matches {
		if op == meta.OpDeleteMarker && !m.DeleteMarkers {
			continue
		}
		entryOp := op
		t := meta.ReplTarget{RuleID: m.RuleID, DestBucket: m.DestBucket, Status: meta.ReplPending}
		if op == meta.OpTags {
			i := meta.TargetIndex(targets, m.DestBucket)
			if i < 0 {
				// The destination never got this version: send all of it
				// (its tags included).
				entryOp = meta.OpPut
				if v.IsDeleteMarker {
					entryOp = meta.OpDeleteMarker
				}
				targets = append(targets, t)
			} else {
				targets[i] = t
			}
		} else {
			targets = append(targets, t)
		}
		entries = append(entries, NewOutboxEntry(versionid.Format(s.clock.Now()), *v, entryOp, m, cfg.Role, now))
	}
	if len(entries) == 0 {
		return nil, nil
	}
	v.ReplTargets = targets
	v.ReplicationStatus = aggregateStatus(targets)
	return entries, nil
}

// NewOutboxEntry is the outbox entry, due now, that sends version v (op:
// meta.OpPut, meta.OpDeleteMarker or meta.OpTags) to the destination of
// rule m under role: the one constructor for local writes and backfill.
func NewOutboxEntry(id string, v meta.Version, op string, m replconfig.Match, role string, now time.Time) meta.OutboxEntry {
	return meta.OutboxEntry{
		ID:         id,
		Bucket:     v.Bucket,
		Key:        v.Key,
		VersionID:  v.VersionID,
		Op:         op,
		RuleID:     m.RuleID,
		DestBucket: m.DestBucket,
		Role:       role,
		Size:       v.Size,
		CreatedAt:  now,
		State:      meta.OutboxPending,
		NextTry:    now,
	}
}

// aggregateStatus is S3's status of a version over its destinations: any
// FAILED makes FAILED, else any PENDING makes PENDING, else COMPLETED.
func aggregateStatus(ts []meta.ReplTarget) string {
	if len(ts) == 0 {
		return ""
	}
	st := meta.ReplCompleted
	for _, t := range ts {
		switch t.Status {
		case meta.ReplFailed:
			return meta.ReplFailed
		case meta.ReplPending:
			st = meta.ReplPending
		}
	}
	return st
}

// SetReplicationTarget records the replication state of one version
// towards t.DestBucket (adding the target if the version has none for that
// bucket) and recomputes the version's aggregate ReplicationStatus. It
// returns ErrNoSuchVersion when the version is gone.
func (s *Service) SetReplicationTarget(ctx context.Context, bucket, key, versionID string, t meta.ReplTarget) error {
	if versionID == "" {
		return fmt.Errorf("%w: a version ID is required", ErrInvalidArgument)
	}
	switch t.Status {
	case meta.ReplPending, meta.ReplCompleted, meta.ReplFailed:
	default:
		return fmt.Errorf("%w: replication status %q", ErrInvalidArgument, t.Status)
	}
	unlock := s.lockKey(bucket, key)
	defer unlock()
	return s.update(ctx, func(tx meta.Tx) error {
		v, err := tx.Version(ctx, bucket, key, versionID)
		if errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("%w: %s/%s version %s", ErrNoSuchVersion, bucket, key, versionID)
		}
		if err != nil {
			return err
		}
		if v.ReplicationStatus == meta.ReplReplica {
			return fmt.Errorf("%w: %s/%s version %s is a replica", ErrInvalidRequest, bucket, key, versionID)
		}
		targets := append([]meta.ReplTarget(nil), v.ReplTargets...)
		if i := meta.TargetIndex(targets, t.DestBucket); i >= 0 {
			if t.RuleID == "" {
				t.RuleID = targets[i].RuleID
			}
			targets[i] = t
		} else {
			targets = append(targets, t)
		}
		v.ReplTargets = targets
		v.ReplicationStatus = aggregateStatus(targets)
		return tx.PutVersion(ctx, v)
	})
}
