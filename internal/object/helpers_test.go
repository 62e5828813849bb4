package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sos/internal/blob/fsblob"
	"sos/internal/meta"
	"sos/internal/meta/metatest"
	"sos/internal/meta/pebblemeta"
	"sos/internal/versionid"
)

// env is a service over a real Pebble store and fsblob in a temp dir.
type env struct {
	svc    *Service
	faulty *metatest.Faulty
	store  *pebblemeta.Store
	blobs  *fsblob.Store
	dir    string
	clock  *fakeClock
	opts   Options
}

// fakeClock is a wall clock that moves one second per reading, so that
// version IDs and last-modified times are deterministic.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type envOption func(*Options)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir, clock: &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	e.open(t, opts...)
	return e
}

func (e *env) open(t testing.TB, opts ...envOption) {
	t.Helper()
	st, err := pebblemeta.Open(e.dir+"/meta", pebblemeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := fsblob.Open(e.dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	e.store, e.blobs, e.faulty = st, bl, metatest.NewFaulty(st)
	o := Options{Meta: e.faulty, Blobs: bl, Zone: "ch-dk-2", Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range opts {
		f(&o)
	}
	e.opts = o
	svc, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
}

// reopen closes the stores and opens them again (as after a restart).
func (e *env) reopen(t testing.TB) {
	t.Helper()
	e.store.Close()
	st, err := pebblemeta.Open(e.dir+"/meta", pebblemeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store, e.faulty = st, metatest.NewFaulty(st)
	o := e.opts
	o.Meta = e.faulty
	svc, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
}

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) bucket(t testing.TB, name string, v meta.Versioning) {
	t.Helper()
	must(t, e.svc.CreateBucket(ctx, name))
	if v != meta.Unversioned {
		must(t, e.svc.SetVersioning(ctx, name, v))
	}
}

func (e *env) put(t testing.TB, bucket, key, data string) ObjectInfo {
	t.Helper()
	oi, err := e.svc.PutObject(ctx, PutInput{Bucket: bucket, Key: key, Body: strings.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return oi
}

func (e *env) get(t testing.TB, bucket, key, versionID string) (string, error) {
	t.Helper()
	out, err := e.svc.GetObject(ctx, GetInput{Bucket: bucket, Key: key, VersionID: versionID})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func (e *env) mustGet(t testing.TB, bucket, key, versionID string) string {
	t.Helper()
	s, err := e.get(t, bucket, key, versionID)
	if err != nil {
		t.Fatalf("get %s/%s@%s: %v", bucket, key, versionID, err)
	}
	return s
}

// blobIDs lists the blobs in the store.
func (e *env) blobIDs(t testing.TB) []string {
	t.Helper()
	var ids []string
	must(t, e.blobs.Scan(ctx, func(id string) error { ids = append(ids, id); return nil }))
	sort.Strings(ids)
	return ids
}

func (e *env) outbox(t testing.TB) []meta.OutboxEntry {
	t.Helper()
	var out []meta.OutboxEntry
	must(t, e.store.ScanOutbox(ctx, "", func(o meta.OutboxEntry) error { out = append(out, o); return nil }))
	return out
}

func (e *env) versions(t testing.TB, bucket string) []ObjectInfo {
	t.Helper()
	var all []ObjectInfo
	in := ListVersionsInput{Bucket: bucket, MaxKeys: 1000}
	for {
		out, err := e.svc.ListVersions(ctx, in)
		must(t, err)
		all = append(all, out.Versions...)
		if !out.IsTruncated {
			return all
		}
		in.KeyMarker, in.VersionIDMarker = out.NextKeyMarker, out.NextVersionIDMarker
	}
}

func md5hex(b []byte) string { return fmt.Sprintf("%x", md5.Sum(b)) }

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func readAll(t testing.TB, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	must(t, err)
	return b
}

var _ = bytes.Equal
var _ = versionid.Parse
