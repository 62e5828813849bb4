package object

import (
	"strings"
	"testing"
	"time"

	"sos/internal/meta"
)

// A zone restarted with its wall clock behind the one it wrote with must
// still write versions that sort newest: every path that mints a version
// observes the key's newest stored version first. Before, the new version
// sorted below the one it replaced and stayed hidden behind it.
func TestClockBehindAfterRestartStillWritesNewest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, e *env) // writes a new version of bkt/k
		data  string                     // what bkt/k reads afterwards ("" for a delete marker)
	}{
		{name: "PutObject", data: "new", write: func(t *testing.T, e *env) { e.put(t, "bkt", "k", "new") }},
		{name: "CopyObject", data: "src", write: func(t *testing.T, e *env) {
			_, err := e.svc.CopyObject(ctx, CopyInput{SrcBucket: "bkt", SrcKey: "src", Bucket: "bkt", Key: "k"})
			must(t, err)
		}},
		{name: "CompleteUpload", data: "part", write: func(t *testing.T, e *env) {
			id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "k"})
			must(t, err)
			p, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "k", UploadID: id, PartNumber: 1,
				Body: strings.NewReader("part"), Size: 4})
			must(t, err)
			_, err = e.svc.CompleteUpload(ctx, "bkt", "k", id, []CompletePart{{Number: 1, ETag: p.ETag}})
			must(t, err)
		}},
		{name: "DeleteObject", write: func(t *testing.T, e *env) {
			_, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: "k"})
			must(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bucket(t, "bkt", meta.Enabled)
			e.put(t, "bkt", "src", "src")
			old := e.put(t, "bkt", "k", "old")

			// Restart with the wall clock three hours behind.
			e.clock.mu.Lock()
			e.clock.t = e.clock.t.Add(-3 * time.Hour)
			e.clock.mu.Unlock()
			e.reopen(t)
			tc.write(t, e)

			var k []ObjectInfo
			for _, v := range e.versions(t, "bkt") {
				if v.Key == "k" {
					k = append(k, v)
				}
			}
			if len(k) != 2 || k[1].VersionID != old.VersionID || !k[0].IsLatest || k[0].VersionID <= old.VersionID {
				t.Fatalf("versions of k after the write (newest first): %+v; the older one is %s", k, old.VersionID)
			}
			got, err := e.get(t, "bkt", "k", "")
			if tc.data == "" {
				wantErr(t, err, ErrNoSuchKey)
			} else if must(t, err); got != tc.data {
				t.Fatalf("GET bkt/k = %q, want %q", got, tc.data)
			}
		})
	}
}
