package replication

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"sos/internal/meta"
	"sos/internal/meta/pebblemeta"
)

// forEachOutbox and forEachVersion visit every entry and version exactly
// once, in scan order, in batches smaller than the data (three versions of
// one key straddle a batch boundary), while fn writes to the store.
func TestBatchedScans(t *testing.T) {
	ctx := context.Background()
	st, err := pebblemeta.Open(t.TempDir(), pebblemeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	err = st.Update(ctx, func(tx meta.Tx) error {
		if err := tx.PutBucket(ctx, meta.Bucket{Name: "src", Zone: "z", CreatedAt: now}); err != nil {
			return err
		}
		n := 0
		for _, key := range []string{"a", "b", "c", "d"} {
			for s := range uint64(3) {
				n++
				v := meta.Version{Bucket: "src", Key: key, VersionID: fmt.Sprintf("v%d", n), Stamp: 10 + s, LastModified: now}
				if err := tx.PutVersion(ctx, v); err != nil {
					return err
				}
				e := meta.OutboxEntry{ID: fmt.Sprintf("%020d", n), Bucket: "src", Key: key, VersionID: v.VersionID,
					RuleID: "r", DestBucket: "dst", Role: "role", Op: "put", CreatedAt: now, State: meta.OutboxPending}
				if err := tx.PutOutbox(ctx, e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wantVersions, wantEntries []string
	if err := st.ScanVersions(ctx, meta.ScanOptions{Bucket: "src"}, func(v meta.Version) error {
		wantVersions = append(wantVersions, v.VersionID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.ScanOutbox(ctx, "", func(e meta.OutboxEntry) error {
		wantEntries = append(wantEntries, e.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(wantVersions) != 12 || len(wantEntries) != 12 {
		t.Fatalf("setup: %d versions, %d entries", len(wantVersions), len(wantEntries))
	}

	for _, size := range []int{1, 2, 5, 12, 100} {
		r, err := New(Options{
			Zone: "z", Meta: st, Source: nopSource{}, Creds: nopCreds{}, Authz: nopAuthz{}, Peers: nopPeers{},
			BatchSize: size, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		var versions, entries []string
		err = r.forEachVersion(ctx, "src", func(v meta.Version) error {
			versions = append(versions, v.VersionID)
			v.ETag = fmt.Sprintf("seen-%d", size)
			return st.Update(ctx, func(tx meta.Tx) error { return tx.PutVersion(ctx, v) })
		})
		if err != nil || !slices.Equal(versions, wantVersions) {
			t.Errorf("batch size %d: forEachVersion visited %v, %v; want %v", size, versions, err, wantVersions)
		}
		err = r.forEachOutbox(ctx, func(e meta.OutboxEntry) error {
			entries = append(entries, e.ID)
			e.Attempts++
			return st.Update(ctx, func(tx meta.Tx) error { return tx.PutOutbox(ctx, e) })
		})
		if err != nil || !slices.Equal(entries, wantEntries) {
			t.Errorf("batch size %d: forEachOutbox visited %v, %v; want %v", size, entries, err, wantEntries)
		}
		// An error from fn ends the walk with it.
		stop := fmt.Errorf("stop")
		n := 0
		err = r.forEachOutbox(ctx, func(meta.OutboxEntry) error {
			if n++; n == 4 {
				return stop
			}
			return nil
		})
		if err != stop || n != 4 {
			t.Errorf("batch size %d: forEachOutbox after an error = %v after %d entries", size, err, n)
		}
	}
}
