package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"sos/internal/meta"
	"sos/internal/replconfig"
	"sos/internal/versionid"
)

// replEntry caches the parsed replication configuration of a bucket; it is
// valid while the bucket record holds the same bytes.
type replEntry struct {
	raw []byte
	cfg *replconfig.Config
}

func (s *Service) forgetRepl(bucket string) {
	s.replMu.Lock()
	delete(s.replCache, bucket)
	s.replMu.Unlock()
}

// replConfig returns the bucket's parsed replication configuration (nil
// when it has none).
func (s *Service) replConfig(b meta.Bucket) (*replconfig.Config, error) {
	if b.Replication == nil {
		return nil, nil
	}
	s.replMu.Lock()
	e := s.replCache[b.Name]
	s.replMu.Unlock()
	if e != nil && bytes.Equal(e.raw, b.Replication) {
		return e.cfg, nil
	}
	cfg, err := replconfig.ParseXML(b.Replication)
	if err != nil {
		// A stored configuration was validated when set; failing the write
		// is better than writing a version that silently never replicates.
		return nil, fmt.Errorf("stored replication configuration of %s: %w", b.Name, err)
	}
	s.replMu.Lock()
	s.replCache[b.Name] = &replEntry{raw: append([]byte(nil), b.Replication...), cfg: cfg}
	s.replMu.Unlock()
	return cfg, nil
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
	cfg, err := s.replConfig(b)
	if err != nil || cfg == nil {
		return nil, err
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
