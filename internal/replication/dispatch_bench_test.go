package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/meta/pebblemeta"
)

// BenchmarkHotKeyBehindBacklog measures the dispatcher alone: hot pending
// entries of one key (which run one at a time, in ID order) behind a
// backlog of FAILED entries that the dispatcher must step over. The hot
// entries' versions do not exist, so each one is dropped at once and the
// time is the dispatcher's. scanned/op is the number of outbox entries read.
func BenchmarkHotKeyBehindBacklog(b *testing.B) {
	for _, backlog := range []int{10_000, 50_000} {
		b.Run(fmt.Sprintf("backlog=%d/hot=2000", backlog), func(b *testing.B) {
			benchHotKey(b, backlog, 2000)
		})
	}
}

func benchHotKey(b *testing.B, backlog, hot int) {
	ctx := context.Background()
	var scanned atomic.Int64
	for range b.N {
		b.StopTimer()
		st, err := pebblemeta.Open(b.TempDir(), pebblemeta.Options{})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		lastID := fillOutbox(b, st, backlog, hot, now)
		cs := &countingStore{Store: st, scanned: &scanned}
		r, err := New(Options{
			Zone: "z", Meta: cs, Source: nopSource{}, Creds: nopCreds{}, Authz: nopAuthz{}, Peers: nopPeers{},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		b.StartTimer()
		go func() { done <- r.Run(rctx) }()
		for {
			if _, err := st.OutboxEntry(ctx, lastID); errors.Is(err, meta.ErrNotFound) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		cancel()
		<-done
		st.Close()
	}
	b.ReportMetric(float64(scanned.Load())/float64(b.N), "scanned/op")
}

// fillOutbox writes backlog FAILED entries, then hot pending entries of one
// key, and returns the ID of the last one.
func fillOutbox(tb testing.TB, st meta.Store, backlog, hot int, now time.Time) string {
	ctx := context.Background()
	id := 0
	put := func(n int, mk func(e *meta.OutboxEntry)) {
		for n > 0 {
			m := min(n, 5000)
			err := st.Update(ctx, func(tx meta.Tx) error {
				for range m {
					id++
					e := meta.OutboxEntry{ID: fmt.Sprintf("%020d", id), Bucket: "src", RuleID: "r", DestBucket: "dst",
						Role: "role", Op: "put", CreatedAt: now, State: meta.OutboxPending}
					mk(&e)
					if err := tx.PutOutbox(ctx, e); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				tb.Fatal(err)
			}
			n -= m
		}
	}
	put(backlog, func(e *meta.OutboxEntry) {
		e.Key = fmt.Sprintf("cold/%07d", id)
		e.VersionID = "v"
		e.State = meta.OutboxFailed
	})
	put(hot, func(e *meta.OutboxEntry) {
		e.Key = "hot"
		e.VersionID = fmt.Sprintf("v%07d", id)
	})
	return fmt.Sprintf("%020d", id)
}

type countingStore struct {
	meta.Store
	scanned *atomic.Int64
}

func (s *countingStore) ScanOutbox(ctx context.Context, afterID string, fn func(meta.OutboxEntry) error) error {
	return s.Store.ScanOutbox(ctx, afterID, func(e meta.OutboxEntry) error {
		s.scanned.Add(1)
		return fn(e)
	})
}

type nopSource struct{}

func (nopSource) OpenVersion(context.Context, string, string, string) (meta.Version, io.ReadCloser, error) {
	return meta.Version{}, nil, meta.ErrNotFound
}

func (nopSource) SetReplicationTarget(context.Context, string, string, string, meta.ReplTarget) error {
	return nil
}

type nopCreds struct{}

func (nopCreds) RoleCredentials(context.Context, string, string) (iam.TempCredentials, error) {
	return iam.TempCredentials{}, ErrUnknownRole
}

type nopAuthz struct{}

func (nopAuthz) AuthorizeRole(string, iam.Request) iam.Decision {
	return iam.Decision{}
}

type nopPeers struct{}

func (nopPeers) BucketZone(string) (string, string, bool) { return "", "", false }
