package replication

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"sos/internal/meta"
	"sos/internal/meta/pebblemeta"
)

// TestHotKeysRunInOrderOneAtATime: entries of a few keys, interleaved and
// behind FAILED entries, run exactly once each, in ID order per key and
// never two of one key at once, and all of them run without a periodic
// full pass (RescanInterval is an hour): the entries skipped behind an
// in-flight one are resumed when it finishes.
func TestHotKeysRunInOrderOneAtATime(t *testing.T) {
	ctx := context.Background()
	st, err := pebblemeta.Open(t.TempDir(), pebblemeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const keys, perKey, backlog = 4, 150, 3000
	now := time.Now()
	keyOf := map[string]string{}
	err = st.Update(ctx, func(tx meta.Tx) error {
		for i := range backlog + keys*perKey {
			e := meta.OutboxEntry{ID: fmt.Sprintf("%020d", i+1), Bucket: "src", RuleID: "r", DestBucket: "dst",
				Role: "role", Op: "put", CreatedAt: now, State: meta.OutboxPending}
			if i < backlog {
				e.Key, e.VersionID, e.State = fmt.Sprintf("cold/%d", i), "v", meta.OutboxFailed
			} else {
				e.Key, e.VersionID = fmt.Sprintf("hot/%d", i%keys), e.ID
				keyOf[e.ID] = e.Key
			}
			if err := tx.PutOutbox(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ws := &watchStore{Store: st, keyOf: keyOf, busy: map[string]bool{}, seen: map[string][]string{}}
	r, err := New(Options{
		Zone: "z", Meta: ws, Source: nopSource{}, Creds: nopCreds{}, Authz: nopAuthz{}, Peers: nopPeers{},
		Workers: 8, RescanInterval: time.Hour, BatchSize: 64,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	// Wait (a generous bound, not a measure) for every hot entry to go.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n := 0
		err := st.ScanOutbox(ctx, "", func(e meta.OutboxEntry) error {
			if e.State == meta.OutboxPending {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d hot entries never ran", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, e := range ws.errs {
		t.Error(e)
	}
	for k := range keys {
		key := fmt.Sprintf("hot/%d", k)
		ids := ws.seen[key]
		if len(ids) != perKey {
			t.Errorf("%s: %d entries ran, want %d", key, len(ids), perKey)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Errorf("%s: entry %s ran after %s", key, ids[i], ids[i-1])
			}
		}
	}
}

// watchStore records, per key, the entries that run (Version is read when
// an entry starts; its entry is deleted when it ends) and reports two
// entries of one key running at once.
type watchStore struct {
	meta.Store
	keyOf map[string]string // entry ID -> key (read-only)
	mu    sync.Mutex
	busy  map[string]bool
	seen  map[string][]string
	errs  []string
}

func (s *watchStore) Version(ctx context.Context, bucket, key, versionID string) (meta.Version, error) {
	s.mu.Lock()
	if s.busy[key] {
		s.errs = append(s.errs, fmt.Sprintf("%s: entry %s started while another one of its key ran", key, versionID))
	}
	s.busy[key] = true
	s.seen[key] = append(s.seen[key], versionID)
	s.mu.Unlock()
	return s.Store.Version(ctx, bucket, key, versionID)
}

func (s *watchStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	return s.Store.Update(ctx, func(tx meta.Tx) error { return fn(&watchTx{Tx: tx, s: s}) })
}

type watchTx struct {
	meta.Tx
	s *watchStore
}

func (t *watchTx) DeleteOutbox(ctx context.Context, id string) error {
	t.s.mu.Lock()
	delete(t.s.busy, t.s.keyOf[id])
	t.s.mu.Unlock()
	return t.Tx.DeleteOutbox(ctx, id)
}
