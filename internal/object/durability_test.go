package object

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"sos/internal/meta"
	"sos/internal/versionid"
)

// A failing metadata commit leaves no version and no blob behind, whatever
// the operation.
func TestMetaFailureLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Enabled)
	must(t, e.svc.SetReplication(ctx, "bkt", replCfg("dst", true)))
	big := pattern(200<<10, 7)
	base := e.put(t, "bkt", "docs/base", "base")
	id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "docs/mp"})
	must(t, err)
	pi, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "docs/mp", UploadID: id, PartNumber: 1, Body: bytes.NewReader(big), Size: int64(len(big))})
	must(t, err)
	boom := errors.New("injected commit failure")
	ops := []struct {
		name string
		fn   func() error
	}{
		{"put inline", func() error {
			_, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "docs/x", Body: strings.NewReader("x"), Size: 1})
			return err
		}},
		{"put blob", func() error {
			_, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "docs/x", Body: bytes.NewReader(big), Size: int64(len(big))})
			return err
		}},
		{"copy", func() error {
			_, err := e.svc.CopyObject(ctx, CopyInput{SrcBucket: "bkt", SrcKey: "docs/base", Bucket: "bkt", Key: "docs/x"})
			return err
		}},
		{"upload part", func() error {
			_, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "docs/mp", UploadID: id, PartNumber: 2, Body: bytes.NewReader(big), Size: int64(len(big))})
			return err
		}},
		{"complete", func() error {
			_, err := e.svc.CompleteUpload(ctx, "bkt", "docs/mp", id, []CompletePart{{1, pi.ETag}})
			return err
		}},
		{"delete marker", func() error {
			_, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: "docs/base"})
			return err
		}},
		{"delete version", func() error {
			_, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: "docs/base", VersionID: base.VersionID})
			return err
		}},
		{"tagging", func() error {
			_, err := e.svc.PutTagging(ctx, "bkt", "docs/base", "", map[string]string{"a": "b"})
			return err
		}},
	}
	for _, op := range ops {
		blobs := e.blobIDs(t)
		vers := e.versions(t, "bkt")
		ob := e.outbox(t)
		e.faulty.FailNth(1, boom)
		err := op.fn()
		e.faulty.Heal()
		if !errors.Is(err, boom) {
			t.Fatalf("%s: err = %v, want the injected failure", op.name, err)
		}
		if got := e.blobIDs(t); fmt.Sprint(got) != fmt.Sprint(blobs) {
			t.Fatalf("%s: blobs %v -> %v", op.name, blobs, got)
		}
		if got := e.versions(t, "bkt"); fmt.Sprint(got) != fmt.Sprint(vers) {
			t.Fatalf("%s: versions changed", op.name)
		}
		if got := e.outbox(t); len(got) != len(ob) {
			t.Fatalf("%s: outbox %d -> %d", op.name, len(ob), len(got))
		}
	}
	if got := e.mustGet(t, "bkt", "docs/base", ""); got != "base" {
		t.Fatalf("base = %q", got)
	}
}

// Blobs no version or part refers to are collected at start-up; referenced
// ones and every acknowledged write survive a restart.
func TestOrphanCollectionAndRestart(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.InlineMax = 16 })
	e.bucket(t, "bkt", meta.Enabled)
	want := map[string]string{}
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("k%d", i)
		want[k] = strings.Repeat(k, 10*i+1)
		e.put(t, "bkt", k, want[k])
	}
	id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "up"})
	must(t, err)
	_, err = e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "up", UploadID: id, PartNumber: 1, Body: strings.NewReader("part data"), Size: 9})
	must(t, err)
	live := e.blobIDs(t)
	// A crash between blob rename and metadata commit leaves these.
	for i := 0; i < 3; i++ {
		_, _, err := e.blobs.Put(ctx, strings.NewReader("orphan"))
		must(t, err)
	}
	n, err := e.svc.CollectOrphans(ctx)
	must(t, err)
	if n != 3 {
		t.Fatalf("collected %d, want 3", n)
	}
	if got := e.blobIDs(t); fmt.Sprint(got) != fmt.Sprint(live) {
		t.Fatalf("live blobs changed: %v -> %v", live, got)
	}
	_, _, err = e.blobs.Put(ctx, strings.NewReader("orphan"))
	must(t, err)
	e.reopen(t) // New collects at start-up
	if got := e.blobIDs(t); fmt.Sprint(got) != fmt.Sprint(live) {
		t.Fatalf("after restart: %v, want %v", got, live)
	}
	for k, v := range want {
		if got := e.mustGet(t, "bkt", k, ""); got != v {
			t.Fatalf("%s = %q", k, got)
		}
	}
	lp, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "up", UploadID: id})
	must(t, err)
	if len(lp.Parts) != 1 {
		t.Fatalf("parts after restart %+v", lp)
	}
}

// Concurrent writers of one key (run with -race): every write makes a
// distinct version, the versions list in stamp order, and the latest is the
// greatest.
func TestConcurrentWritesOneKey(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.InlineMax = 64 })
	e.bucket(t, "bkt", meta.Enabled)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]bool{}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				data := strings.Repeat(fmt.Sprint(w), 10+i*10) // inline and blob
				oi, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "hot", Body: strings.NewReader(data), Size: int64(len(data))})
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					if _, err := e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "hot"}); err != nil {
						t.Error(err)
					}
				}
				mu.Lock()
				ids[oi.VersionID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	vs := e.versions(t, "bkt")
	if len(vs) != writers*each || len(ids) != writers*each {
		t.Fatalf("%d versions, %d ids", len(vs), len(ids))
	}
	for i := 1; i < len(vs); i++ {
		a, _ := versionid.Parse(vs[i-1].VersionID)
		b, _ := versionid.Parse(vs[i].VersionID)
		if a <= b {
			t.Fatalf("versions not newest first at %d", i)
		}
	}
	if !vs[0].IsLatest {
		t.Fatal("first is not latest")
	}
}

// Concurrent writers under Suspended fight over the null version: exactly
// one survives and no blob leaks.
func TestConcurrentNullVersion(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.InlineMax = -1 })
	e.bucket(t, "bkt", meta.Suspended)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				e.put(t, "bkt", "n", fmt.Sprint(w, i))
			}
		}()
	}
	wg.Wait()
	if vs := e.versions(t, "bkt"); len(vs) != 1 || vs[0].VersionID != "null" {
		t.Fatalf("versions %+v", vs)
	}
	if b := e.blobIDs(t); len(b) != 1 {
		t.Fatalf("%d blobs, want 1", len(b))
	}
}
