package object

import (
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sos/internal/meta"
	"sos/internal/replconfig"
	"sos/internal/versionid"
)

// TestOnQueuedFiresForEveryWrite runs every write method of the service
// against a replicated bucket: OnQueued must be called exactly when the
// write queued outbox entries, and at least for the writes that replicate.
// Every exported method must be listed here or in readOnly, so that a new
// method is classified before it ships.
func TestOnQueuedFiresForEveryWrite(t *testing.T) {
	var queued atomic.Int32
	e := newEnv(t, func(o *Options) { o.OnQueued = func() { queued.Add(1) } })
	e.bucket(t, "src", meta.Enabled)
	must(t, e.svc.SetReplication(ctx, "src", replCfg("dst", true)))
	replica := versionid.Format(versionid.New("at-vie-1", func() time.Time { return time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC) }).Now())

	// upload starts a multipart upload of key with one part.
	upload := func(t *testing.T, key string) (string, PartInfo) {
		id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "src", Key: key})
		must(t, err)
		p, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "src", Key: key, UploadID: id, PartNumber: 1, Body: strings.NewReader("pp"), Size: 2})
		must(t, err)
		return id, p
	}

	cases := []struct {
		method string
		name   string
		// replicates: the write matches a rule and must wake replication.
		replicates bool
		// setup runs before the count starts; write is the write itself.
		setup func(t *testing.T) any
		write func(t *testing.T, arg any) error
	}{
		{method: "PutObject", name: "matching", replicates: true,
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.PutObject(ctx, PutInput{Bucket: "src", Key: "docs/put", Body: strings.NewReader("x"), Size: 1})
				return err
			}},
		{method: "PutObject", name: "not matching",
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.PutObject(ctx, PutInput{Bucket: "src", Key: "misc/put", Body: strings.NewReader("x"), Size: 1})
				return err
			}},
		{method: "PutObject", name: "replica",
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.PutObject(ctx, PutInput{Bucket: "src", Key: "docs/replica", Body: strings.NewReader("x"), Size: 1,
					Replica: &ReplicaInfo{VersionID: replica}})
				return err
			}},
		{method: "CopyObject", name: "matching", replicates: true,
			setup: func(t *testing.T) any { return e.put(t, "src", "misc/copy-src", "c") },
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "misc/copy-src", Bucket: "src", Key: "docs/copy"})
				return err
			}},
		{method: "DeleteObject", name: "delete marker", replicates: true,
			setup: func(t *testing.T) any { return e.put(t, "src", "docs/del", "d") },
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "src", Key: "docs/del"})
				return err
			}},
		{method: "DeleteObject", name: "a version (not replicated)",
			setup: func(t *testing.T) any { return e.put(t, "src", "docs/delv", "d") },
			write: func(t *testing.T, arg any) error {
				_, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "src", Key: "docs/delv", VersionID: arg.(ObjectInfo).VersionID})
				return err
			}},
		{method: "PutTagging", name: "matching", replicates: true,
			setup: func(t *testing.T) any { return e.put(t, "src", "docs/tag", "t") },
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.PutTagging(ctx, "src", "docs/tag", "", map[string]string{"a": "b"})
				return err
			}},
		{method: "DeleteTagging", name: "matching", replicates: true,
			setup: func(t *testing.T) any { return e.put(t, "src", "docs/untag", "t") },
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.DeleteTagging(ctx, "src", "docs/untag", "")
				return err
			}},
		{method: "CompleteUpload", name: "matching", replicates: true,
			setup: func(t *testing.T) any { id, p := upload(t, "docs/mp"); return [2]any{id, p} },
			write: func(t *testing.T, arg any) error {
				a := arg.([2]any)
				_, err := e.svc.CompleteUpload(ctx, "src", "docs/mp", a[0].(string), []CompletePart{{1, a[1].(PartInfo).ETag}})
				return err
			}},
		{method: "CreateUpload",
			write: func(t *testing.T, _ any) error {
				_, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "src", Key: "docs/mp2"})
				return err
			}},
		{method: "UploadPart",
			setup: func(t *testing.T) any {
				id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "src", Key: "docs/mp3"})
				must(t, err)
				return id
			},
			write: func(t *testing.T, arg any) error {
				_, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "src", Key: "docs/mp3", UploadID: arg.(string), PartNumber: 1, Body: strings.NewReader("pp"), Size: 2})
				return err
			}},
		{method: "AbortUpload",
			setup: func(t *testing.T) any { id, _ := upload(t, "docs/mp4"); return id },
			write: func(t *testing.T, arg any) error { return e.svc.AbortUpload(ctx, "src", "docs/mp4", arg.(string)) }},
		{method: "SetReplicationTarget",
			setup: func(t *testing.T) any { return e.put(t, "src", "docs/target", "t") },
			write: func(t *testing.T, arg any) error {
				return e.svc.SetReplicationTarget(ctx, "src", "docs/target", arg.(ObjectInfo).VersionID, meta.ReplTarget{DestBucket: "dst", Status: meta.ReplCompleted})
			}},
		{method: "CreateBucket", write: func(t *testing.T, _ any) error { return e.svc.CreateBucket(ctx, "bkt2") }},
		{method: "SetVersioning", write: func(t *testing.T, _ any) error { return e.svc.SetVersioning(ctx, "bkt2", meta.Enabled) }},
		{method: "SetReplication", write: func(t *testing.T, _ any) error {
			return e.svc.SetReplication(ctx, "bkt2", replCfg("dst", true))
		}},
		{method: "SetBucketTags", write: func(t *testing.T, _ any) error {
			return e.svc.SetBucketTags(ctx, "bkt2", map[string]string{"team": "storage"})
		}},
		{method: "SetCORS", write: func(t *testing.T, _ any) error {
			return e.svc.SetCORS(ctx, "bkt2", []meta.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}})
		}},
		{method: "DeleteBucket",
			setup: func(t *testing.T) any { must(t, e.svc.CreateBucket(ctx, "bkt3")); return nil },
			write: func(t *testing.T, _ any) error { return e.svc.DeleteBucket(ctx, "bkt3") }},
		{method: "CollectOrphans", write: func(t *testing.T, _ any) error { _, err := e.svc.CollectOrphans(ctx); return err }},
	}
	readOnly := map[string]bool{
		"Bucket": true, "ListBuckets": true, "Replication": true, "CORS": true, "BucketTags": true, "Attributes": true, "GetObject": true, "HeadObject": true,
		"OpenVersion": true, "ListObjects": true, "ListVersions": true, "ListParts": true, "ListUploads": true,
		"GetTagging": true, "Usage": true, "Clock": true,
	}
	listed := map[string]bool{}
	for _, c := range cases {
		listed[c.method] = true
	}
	st := reflect.TypeOf(e.svc)
	for i := range st.NumMethod() {
		if m := st.Method(i).Name; !listed[m] && !readOnly[m] {
			t.Errorf("method %s is neither a write in this table nor read-only: add it", m)
		}
	}

	for _, c := range cases {
		t.Run(c.method+"/"+c.name, func(t *testing.T) {
			var arg any
			if c.setup != nil {
				arg = c.setup(t)
			}
			before, n0 := len(e.outbox(t)), queued.Load()
			must(t, c.write(t, arg))
			grew, fired := len(e.outbox(t)) > before, queued.Load()-n0
			switch {
			case c.replicates && !grew:
				t.Fatal("the write queued no outbox entry")
			case grew && fired != 1:
				t.Fatalf("the write queued outbox entries and OnQueued was called %d times, want 1", fired)
			case !grew && fired != 0:
				t.Fatalf("the write queued nothing and OnQueued was called %d times", fired)
			}
		})
	}
}

// TestOnQueuedNotOnFailure: a write that fails commits nothing and wakes
// nothing.
func TestOnQueuedNotOnFailure(t *testing.T) {
	var queued atomic.Int32
	e := newEnv(t, func(o *Options) { o.OnQueued = func() { queued.Add(1) } })
	e.bucket(t, "src", meta.Enabled)
	must(t, e.svc.SetReplication(ctx, "src", replCfg("dst", true)))
	boom := errors.New("disk on fire")
	e.faulty.FailAll(boom)
	_, err := e.svc.PutObject(ctx, PutInput{Bucket: "src", Key: "docs/a", Body: strings.NewReader("x"), Size: 1})
	wantErr(t, err, boom)
	if n := queued.Load(); n != 0 {
		t.Fatalf("OnQueued called %d times after a failed commit", n)
	}
}

// TestOnReplicationChange: each successful SetReplication (set or removed)
// tells the hook its bucket; a refused one does not.
func TestOnReplicationChange(t *testing.T) {
	var changed []string
	e := newEnv(t, func(o *Options) { o.OnReplicationChange = func(b string) { changed = append(changed, b) } })
	e.bucket(t, "src", meta.Enabled)
	e.bucket(t, "plain", meta.Unversioned)
	must(t, e.svc.SetReplication(ctx, "src", replCfg("dst", true)))
	wantErr(t, e.svc.SetReplication(ctx, "plain", replCfg("dst", true)), ErrInvalidRequest)
	wantErr(t, e.svc.SetReplication(ctx, "src", &replconfig.Config{Role: "no-rules"}), ErrInvalidArgument)
	must(t, e.svc.SetReplication(ctx, "src", nil))
	if want := []string{"src", "src"}; !reflect.DeepEqual(changed, want) {
		t.Fatalf("OnReplicationChange heard %v, want %v", changed, want)
	}
}
