package replication_test

import (
	"context"
	"testing"
	"time"

	"sos/internal/meta"
	"sos/internal/server/repltest"
)

// The oldest pending entry of a rule is reported whatever else the outbox
// holds, here entries of a rule no longer configured ("Removed") read
// between two entries of the configured one.
func TestStatusOldestPendingWithRemovedRule(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "leader", policy("my-source", "my-destination"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "my-source", b, "my-destination", roleLeader, false)

	ctx := context.Background()
	now := time.Now()
	later := now.Add(time.Hour) // not due: the workers leave them alone
	entries := []meta.OutboxEntry{
		{ID: "0000000000000001", RuleID: "to-my-destination", DestBucket: "my-destination", CreatedAt: now.Add(-time.Hour)},
		{ID: "0000000000000002", RuleID: "old-rule", DestBucket: "elsewhere", CreatedAt: now.Add(-time.Minute)},
		{ID: "0000000000000003", RuleID: "to-my-destination", DestBucket: "my-destination", CreatedAt: now.Add(-time.Minute)},
	}
	err := a.Meta().Update(ctx, func(tx meta.Tx) error {
		for _, e := range entries {
			e.Bucket, e.Key, e.VersionID, e.Op, e.Role = "my-source", "k", "00000000000000aa", meta.OpPut, roleLeader
			e.State, e.NextTry = meta.OutboxPending, later
			if err := tx.PutOutbox(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The report used to pick one of two ages at random: ask often.
	for range 20 {
		st, err := a.Replicator().Status(ctx, "my-source")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range st.Rules {
			if r.ID == "to-my-destination" && (r.Pending != 2 || r.OldestPendingSeconds < 50*60) {
				t.Fatalf("rule %s: pending %d, oldest pending %.0fs; want 2 and about 3600s", r.ID, r.Pending, r.OldestPendingSeconds)
			}
		}
	}
}
