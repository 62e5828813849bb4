package metatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"sos/internal/meta"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; the suite closes every store it gets (Close may then be called
// a second time by the opener's own cleanup, and must tolerate that).
//
// Behaviour the suite pins down beyond the interface comments: deleting a
// missing bucket, upload or outbox entry is not an error; Parts of a missing
// upload is empty; Update with a cancelled context writes nothing and
// returns the context's error; times are compared with time.Time.Equal at
// microsecond precision; empty and nil maps, slices and Inline are the same.
// With LatestOnly and AfterStamp, the newest version of StartKey is yielded
// only if its Stamp < AfterStamp (a LatestOnly scan never yields an older
// version).
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Buckets", testBuckets},
		{"VersionRoundTrip", testVersionRoundTrip},
		{"VersionNotFound", testVersionNotFound},
		{"ScanOrder", testScanOrder},
		{"ScanOptions", testScanOptions},
		{"ScanStop", testScanStop},
		{"NullVersionReplace", testNullVersionReplace},
		{"DeleteVersion", testDeleteVersion},
		{"Uploads", testUploads},
		{"Parts", testParts},
		{"DeleteUpload", testDeleteUpload},
		{"Outbox", testOutbox},
		{"UpdateAtomic", testUpdateAtomic},
		{"UpdateCancelled", testUpdateCancelled},
		{"TxReadsOwnWrites", testTxReadsOwnWrites},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Faulty", testFaulty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// RunReopen checks durability across Close and a new open. persistent is
// called once per subtest and returns a function that opens the same store
// (initially empty) each time it is called; the suite closes each store
// before opening the next one and closes the last one.
func RunReopen(t *testing.T, persistent func(t *testing.T) func() meta.Store) {
	t.Helper()
	t.Run("Reopen", func(t *testing.T) {
		open := persistent(t)
		ctx := context.Background()
		s := open()
		w := fixture{}
		w.build()
		update(t, s, w.write)
		// Deletions must be durable too.
		update(t, s, func(tx meta.Tx) error {
			return errors.Join(
				tx.DeleteVersion(ctx, "reopen", "k1", "v1"),
				tx.DeleteOutbox(ctx, "o2"),
			)
		})
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s = open()
		defer func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		w.check(t, s)
	})
}

// fixture is a set of records of every kind, written and checked by
// RunReopen.
type fixture struct {
	bucket   meta.Bucket
	versions []meta.Version
	upload   meta.Upload
	parts    []meta.Part
	outbox   []meta.OutboxEntry
}

func (f *fixture) build() {
	f.bucket = sampleBucket("reopen")
	f.versions = []meta.Version{
		sampleVersion("reopen", "k1", "v1", 1, []byte("one")),
		sampleVersion("reopen", "k1", "v2", 2, []byte("two")),
		sampleVersion("reopen", "k2\x00", meta.NullVersionID, 3, nil),
	}
	f.upload = sampleUpload("reopen", "big", "u1", ts(5))
	f.parts = []meta.Part{samplePart("reopen", "u1", 1, []byte("p1")), samplePart("reopen", "u1", 2, nil)}
	f.outbox = []meta.OutboxEntry{sampleOutbox("o1"), sampleOutbox("o2"), sampleOutbox("o3")}
}

func (f *fixture) write(tx meta.Tx) error {
	ctx := context.Background()
	if err := tx.PutBucket(ctx, f.bucket); err != nil {
		return err
	}
	for _, v := range f.versions {
		if err := tx.PutVersion(ctx, v); err != nil {
			return err
		}
	}
	if err := tx.PutUpload(ctx, f.upload); err != nil {
		return err
	}
	for _, p := range f.parts {
		if err := tx.PutPart(ctx, p); err != nil {
			return err
		}
	}
	for _, e := range f.outbox {
		if err := tx.PutOutbox(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// check verifies the fixture after k1/v1 and o2 were deleted.
func (f *fixture) check(t *testing.T, s meta.Reader) {
	t.Helper()
	ctx := context.Background()
	b, err := s.Bucket(ctx, "reopen")
	must(t, err)
	same(t, "bucket", b, f.bucket)
	got := scanAll(t, s, meta.ScanOptions{Bucket: "reopen", WithData: true})
	same(t, "versions", got, []meta.Version{f.versions[1], f.versions[2]})
	if _, err := s.Version(ctx, "reopen", "k1", "v1"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("deleted version: err = %v, want ErrNotFound", err)
	}
	u, err := s.Upload(ctx, "reopen", "u1")
	must(t, err)
	same(t, "upload", u, f.upload)
	parts, err := s.Parts(ctx, "reopen", "u1", true)
	must(t, err)
	same(t, "parts", parts, f.parts)
	same(t, "outbox", scanOutbox(t, s, ""), []meta.OutboxEntry{f.outbox[0], f.outbox[2]})
}

// ---- helpers ----

// ts returns a UTC time at microsecond precision, n seconds (plus n
// microseconds) after a fixed instant.
func ts(n int) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * (time.Second + time.Microsecond))
}

func sampleBucket(name string) meta.Bucket {
	return meta.Bucket{Name: name, Zone: "ch-dk-2", CreatedAt: ts(1), Versioning: meta.Enabled,
		Replication: sampleReplication(), CORS: sampleCORS(),
		Tags: map[string]string{"team": "storage", "empty": "", "k \x00\xff": "v\x00"}}
}

// sampleCORS returns CORS rules with every field set somewhere and each
// optional one both absent and present: a store keeps their order and
// the order of their elements.
func sampleCORS() []meta.CORSRule {
	zero, day := 0, 86400
	return []meta.CORSRule{
		{ID: "upload", AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"},
			AllowedMethods: []string{"PUT", "POST", "DELETE"}, AllowedHeaders: []string{"*"},
			ExposeHeaders: []string{"ETag", "x-amz-version-id"}, MaxAgeSeconds: &day},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "HEAD"}},
		{ID: "zero-age", AllowedOrigins: []string{"http://a"}, AllowedMethods: []string{"GET"},
			AllowedHeaders: []string{"x-amz-*", "content-type"}, MaxAgeSeconds: &zero},
	}
}

// sampleReplication returns a replication configuration with every field
// set somewhere, and each optional one both absent and present but empty:
// a store must keep the difference.
func sampleReplication() *meta.ReplicationConfig {
	one, zero, neg := 1, 0, -7
	empty, logs := "", "logs/"
	return &meta.ReplicationConfig{Role: "6f00a21e-a535-4286-86c5-e81eeab3b4ff", Rules: []meta.ReplicationRule{
		{ID: "all", Priority: &one, Status: "Enabled", Filter: &meta.ReplicationFilter{Prefix: &empty},
			DeleteMarkerReplication: "Enabled", Destination: "my-destination"},
		{ID: "tagged", Priority: &zero, Status: "Disabled",
			Filter:                    &meta.ReplicationFilter{Tag: &meta.ReplicationTag{Key: "k \x00\xff", Value: ""}},
			ExistingObjectReplication: "Enabled", Destination: "arn:aws:s3:::other", StorageClass: "STANDARD"},
		{Priority: &neg, Status: "Enabled",
			Filter: &meta.ReplicationFilter{And: &meta.ReplicationAnd{Prefix: &logs,
				Tags: []meta.ReplicationTag{{Key: "a", Value: "1"}, {Key: "b", Value: ""}}}},
			DeleteMarkerReplication: "Disabled", ExistingObjectReplication: "Disabled", Destination: "third"},
		{ID: "empty-and", Status: "Enabled", Filter: &meta.ReplicationFilter{And: &meta.ReplicationAnd{}}, Destination: "fourth"},
		{ID: "empty-filter", Status: "Enabled", Filter: &meta.ReplicationFilter{}, Destination: "fifth"},
		{ID: "v1", Status: "Enabled", Prefix: &empty, Destination: "sixth"},
		{ID: "v1-prefix", Status: "Enabled", Prefix: &logs, Destination: "sixth"},
		{ID: "no-filter", Status: "Enabled", Destination: "seventh"},
	}}
}

// sampleVersion returns a version with every field set. With inline nil it
// refers to a blob.
func sampleVersion(bucket, key, vid string, stamp uint64, inline []byte) meta.Version {
	v := meta.Version{
		Bucket: bucket, Key: key, VersionID: vid, Stamp: stamp,
		LastModified: ts(int(stamp % 1000)),
		Size:         int64(len(inline)),
		ETag:         fmt.Sprintf("etag-%s-%d", vid, stamp),
		PartsCount:   int(stamp % 3),
		Attrs: meta.Attrs{
			ContentType: "text/plain", CacheControl: "no-cache", ContentDisposition: "inline",
			ContentEncoding: "gzip", ContentLanguage: "fr", Expires: "Wed, 21 Oct 2015 07:28:00 GMT",
			UserMeta: map[string]string{"owner": "ops", "k\x00": "v\xff"},
		},
		Tags:              map[string]string{"env": "prod"},
		Checksums:         map[string]string{"CRC32": "AAAAAA=="},
		Inline:            inline,
		ReplicationStatus: meta.ReplPending,
		ReplTargets: []meta.ReplTarget{
			{RuleID: "r1", DestBucket: "dst", Status: meta.ReplPending},
			{RuleID: "r2", DestBucket: "dst2", Status: meta.ReplFailed, Reason: "access denied"},
		},
	}
	switch {
	case inline == nil && stamp%2 == 0:
		v.BlobID = "blob-" + vid
		v.Size = 1 << 20
	case inline == nil:
		// A completed multipart object: its data is a list of parts.
		v.Parts = []meta.PartRef{{BlobID: "part1-" + vid, Size: 5 << 20}, {BlobID: "part2-" + vid, Size: 7}}
		v.Size = 5<<20 + 7
	}
	return v
}

func deleteMarker(bucket, key, vid string, stamp uint64) meta.Version {
	return meta.Version{Bucket: bucket, Key: key, VersionID: vid, Stamp: stamp, IsDeleteMarker: true, LastModified: ts(int(stamp % 1000))}
}

func sampleUpload(bucket, key, id string, at time.Time) meta.Upload {
	return meta.Upload{Bucket: bucket, Key: key, UploadID: id, Initiated: at,
		Attrs: meta.Attrs{ContentType: "application/octet-stream", UserMeta: map[string]string{"a": "b"}},
		Tags:  map[string]string{"t": "1"}, ChecksumAlgorithm: "CRC32C",
		ReplicaVersionID: "0123456789abcdef", ReplicaLastModified: at.Add(-time.Hour), ReplicaETag: "abc-2", ReplicaPartsCount: 2}
}

func samplePart(bucket, uploadID string, n int, inline []byte) meta.Part {
	p := meta.Part{Bucket: bucket, UploadID: uploadID, Number: n, Size: int64(len(inline)),
		ETag: fmt.Sprintf("etag-part-%d", n), LastModified: ts(n), Checksums: map[string]string{"CRC32C": "BBBB"}, Inline: inline}
	if inline == nil {
		p.BlobID = fmt.Sprintf("blob-%s-%d", uploadID, n)
		p.Size = 5 << 20
	}
	return p
}

func sampleOutbox(id string) meta.OutboxEntry {
	return meta.OutboxEntry{ID: id, Bucket: "src", Key: "k/" + id, VersionID: "v-" + id, Op: meta.OpPut,
		RuleID: "rule", DestBucket: "dst", Role: "3f1b3c9e-0000-4000-8000-000000000001", Size: 42,
		CreatedAt: ts(2), State: meta.OutboxPending, Attempts: 3, NextTry: ts(9), LastError: "peer down"}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, s meta.Store, fn func(meta.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func putVersions(t *testing.T, s meta.Store, vs ...meta.Version) {
	t.Helper()
	update(t, s, func(tx meta.Tx) error {
		for _, v := range vs {
			if err := tx.PutVersion(context.Background(), v); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanAll(t *testing.T, r meta.Reader, opts meta.ScanOptions) []meta.Version {
	t.Helper()
	var out []meta.Version
	must(t, r.ScanVersions(context.Background(), opts, func(v meta.Version) error {
		out = append(out, v)
		return nil
	}))
	return out
}

func scanOutbox(t *testing.T, r meta.Reader, after string) []meta.OutboxEntry {
	t.Helper()
	var out []meta.OutboxEntry
	must(t, r.ScanOutbox(context.Background(), after, func(e meta.OutboxEntry) error {
		out = append(out, e)
		return nil
	}))
	return out
}

// normalize maps a record to a comparable form: times in UTC, empty maps,
// slices and byte slices as nil.
func normalize(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(normalize(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		return v
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			return reflect.ValueOf(t.UTC().Round(0))
		}
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.NumField(); i++ {
			out.Field(i).Set(normalize(v.Field(i)))
		}
		return out
	}
	return v
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := normalize(reflect.ValueOf(got)), normalize(reflect.ValueOf(want))
	if !reflect.DeepEqual(g.Interface(), w.Interface()) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, g.Interface(), w.Interface())
	}
}

func shuffled[T any](rng *rand.Rand, in []T) []T {
	out := append([]T(nil), in...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// ---- tests ----

func testBuckets(t *testing.T, s meta.Store) {
	ctx := context.Background()
	if _, err := s.Bucket(ctx, "nope"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("missing bucket: err = %v, want ErrNotFound", err)
	}
	bs, err := s.Buckets(ctx)
	must(t, err)
	if len(bs) != 0 {
		t.Fatalf("Buckets on empty store = %v", bs)
	}
	names := []string{"b", "a", "a\x00b", "ab", "a-b", "\xff", "zz", "a\x00"}
	var want []meta.Bucket
	update(t, s, func(tx meta.Tx) error {
		for i, n := range names {
			b := sampleBucket(n)
			b.Versioning = []meta.Versioning{meta.Unversioned, meta.Enabled, meta.Suspended}[i%3]
			if i%2 == 1 {
				b.Replication = nil
			}
			if i%3 == 1 {
				b.CORS, b.Tags = nil, nil
			}
			want = append(want, b)
			if err := tx.PutBucket(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	got, err := s.Buckets(ctx)
	must(t, err)
	same(t, "Buckets", got, want)
	for _, b := range want {
		g, err := s.Bucket(ctx, b.Name)
		must(t, err)
		same(t, "Bucket "+b.Name, g, b)
	}
	// Replace, then delete (twice: a missing bucket is not an error).
	nb := want[0]
	nb.Versioning = meta.Suspended
	nb.Replication = &meta.ReplicationConfig{Role: "other-role", Rules: []meta.ReplicationRule{
		{ID: "only", Status: "Enabled", Destination: "elsewhere"}}}
	nb.CORS = []meta.CORSRule{{AllowedOrigins: []string{"https://other"}, AllowedMethods: []string{"GET"}}}
	nb.Tags = map[string]string{"replaced": "yes"}
	update(t, s, func(tx meta.Tx) error { return tx.PutBucket(ctx, nb) })
	g, err := s.Bucket(ctx, nb.Name)
	must(t, err)
	same(t, "replaced bucket", g, nb)
	for range 2 {
		update(t, s, func(tx meta.Tx) error { return tx.DeleteBucket(ctx, "ab") })
	}
	if _, err := s.Bucket(ctx, "ab"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("deleted bucket: err = %v, want ErrNotFound", err)
	}
	got, err = s.Buckets(ctx)
	must(t, err)
	if len(got) != len(want)-1 {
		t.Fatalf("after delete: %d buckets, want %d", len(got), len(want)-1)
	}
}

func testVersionRoundTrip(t *testing.T, s meta.Store) {
	ctx := context.Background()
	vs := []meta.Version{
		sampleVersion("bk", "photos/cat.jpg", "v1", 100, nil),
		sampleVersion("bk", "photos/cat.jpg", "v2", 200, bytes.Repeat([]byte{0, 1, 0xff}, 1500)),
		deleteMarker("bk", "photos/cat.jpg", "v3", 300),
		{Bucket: "bk", Key: "empty", VersionID: meta.NullVersionID, Stamp: 1, LastModified: ts(3), ETag: "d41d8cd98f00b204e9800998ecf8427e"},
	}
	putVersions(t, s, vs...)
	for _, want := range vs {
		got, err := s.Version(ctx, want.Bucket, want.Key, want.VersionID)
		must(t, err)
		same(t, "Version "+want.VersionID, got, want)
	}
	got, err := s.Version(ctx, "bk", "photos/cat.jpg", "")
	must(t, err)
	same(t, "newest version (a delete marker)", got, vs[2])
	got, err = s.Version(ctx, "bk", "empty", "")
	must(t, err)
	same(t, "newest of empty", got, vs[3])
}

func testVersionNotFound(t *testing.T, s meta.Store) {
	ctx := context.Background()
	putVersions(t, s, sampleVersion("bk", "a", "v1", 1, nil), sampleVersion("bk\x00", "b", "v1", 1, nil),
		sampleVersion("bk", "a\x00", "v9", 9, nil))
	cases := []struct{ bucket, key, vid string }{
		{"nobucket", "a", ""},
		{"nobucket", "a", "v1"},
		{"bk", "nokey", ""},
		{"bk", "nokey", "v1"},
		{"bk", "a", "v2"},
		{"bk", "a", meta.NullVersionID},
		{"bk", "", ""},
		{"bk", "b", "v1"},   // exists in bucket "bk\x00" only
		{"bk\x00", "a", ""}, // exists in bucket "bk" only
		{"bk", "a\x00", "v1"},
		{"bk", "a", "v9"},
	}
	for _, c := range cases {
		if _, err := s.Version(ctx, c.bucket, c.key, c.vid); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("Version(%q, %q, %q): err = %v, want ErrNotFound", c.bucket, c.key, c.vid, err)
		}
	}
}

// scanKeys are object keys chosen to break escaping and ordering mistakes.
var scanKeys = []string{
	"a", "a\x00", "a\x00b", "a\x00\x00", "a\x01", "ab", "a/", "a/b", "a/b/c", "a\xff", "a\xff\x00",
	"b", "../etc/passwd", "./x", "..", "\x00", "\x00\xff", "\xff", "\xff\xff", "z", "Z", "~",
	"dir/", "dir/sub/file", "dir/sub/file2", "dir0", "dir.", "emoji-😀",
}

// scanFixture writes versions of scanKeys in buckets "bk" and neighbours
// whose names could collide with it, and returns the versions of "bk" in
// scan order.
func scanFixture(t *testing.T, s meta.Store) []meta.Version {
	rng := rand.New(rand.NewPCG(1, 2))
	var all, bk []meta.Version
	stamp := uint64(1000)
	for i, k := range scanKeys {
		n := 1 + i%3
		for j := range n {
			stamp += uint64(1 + rng.IntN(50))
			var v meta.Version
			switch {
			case j == 1 && i%2 == 0:
				v = deleteMarker("bk", k, fmt.Sprintf("v%d", stamp), stamp)
			case (i+j)%2 == 0:
				v = sampleVersion("bk", k, fmt.Sprintf("v%d", stamp), stamp, []byte(fmt.Sprintf("data of %q #%d", k, j)))
			default:
				v = sampleVersion("bk", k, fmt.Sprintf("v%d", stamp), stamp, nil)
			}
			if i%7 == 3 && j == 0 {
				v.VersionID = meta.NullVersionID
			}
			bk = append(bk, v)
		}
	}
	// Stamps that are not monotonic in write order, and very large ones.
	bk = append(bk, sampleVersion("bk", "a/b", "vmax", ^uint64(0), []byte("max")),
		sampleVersion("bk", "a/b", "vsmall", 1, []byte("small")))
	all = append(all, bk...)
	for _, other := range []string{"b", "bk\x00", "bk\x00x", "bk0", "bj\xff", "bkk"} {
		for _, k := range scanKeys[:6] {
			all = append(all, sampleVersion(other, k, "o"+other, 7, []byte("other")))
		}
	}
	all = shuffled(rng, all)
	for i := 0; i < len(all); i += 16 {
		putVersions(t, s, all[i:min(i+16, len(all))]...)
	}
	sort.SliceStable(bk, func(i, j int) bool {
		if bk[i].Key != bk[j].Key {
			return bk[i].Key < bk[j].Key
		}
		return bk[i].Stamp > bk[j].Stamp
	})
	return bk
}

func testScanOrder(t *testing.T, s meta.Store) {
	want := scanFixture(t, s)
	got := scanAll(t, s, meta.ScanOptions{Bucket: "bk", WithData: true})
	same(t, "ScanVersions order", got, want)
	if got := scanAll(t, s, meta.ScanOptions{Bucket: "none"}); len(got) != 0 {
		t.Errorf("scan of a bucket without versions yielded %d", len(got))
	}
}

// model computes what ScanVersions must yield from all versions of the
// bucket in scan order.
func model(all []meta.Version, o meta.ScanOptions) []meta.Version {
	var out []meta.Version
	for i, v := range all {
		newest := i == 0 || all[i-1].Key != v.Key
		if len(v.Key) < len(o.Prefix) || v.Key[:len(o.Prefix)] != o.Prefix {
			continue
		}
		if o.StartKey != "" && v.Key < o.StartKey {
			continue
		}
		if o.LatestOnly && !newest {
			continue
		}
		if o.StartKey != "" && v.Key == o.StartKey && o.AfterStamp != 0 && v.Stamp >= o.AfterStamp {
			continue
		}
		if !o.WithData {
			v.Inline = nil
		}
		out = append(out, v)
	}
	return out
}

func testScanOptions(t *testing.T, s meta.Store) {
	all := scanFixture(t, s)
	// A key with several versions, to resume inside it.
	var multi []meta.Version
	for _, v := range all {
		if v.Key == "a/b" {
			multi = append(multi, v)
		}
	}
	cases := []meta.ScanOptions{
		{},
		{WithData: true},
		{LatestOnly: true},
		{LatestOnly: true, WithData: true},
		{Prefix: "a"},
		{Prefix: "a\x00"},
		{Prefix: "a\x00", LatestOnly: true},
		{Prefix: "a/"},
		{Prefix: "a/b"},
		{Prefix: "a\xff"},
		{Prefix: "\xff"},
		{Prefix: "\x00"},
		{Prefix: "../"},
		{Prefix: "dir/sub/"},
		{Prefix: "nothing"},
		{Prefix: "a/b/c/d"},
		{StartKey: "a/b"},
		{StartKey: "a/b", LatestOnly: true},
		{StartKey: "a\x00"},
		{StartKey: "a/bb"},
		{StartKey: "zzz"},
		{StartKey: "\x00"},
		{StartKey: "a", Prefix: "dir"},
		{StartKey: "dir/sub/file2", Prefix: "dir"},
		{StartKey: "e", Prefix: "dir"},
		{StartKey: "a/b", AfterStamp: multi[0].Stamp},
		{StartKey: "a/b", AfterStamp: multi[1].Stamp},
		{StartKey: "a/b", AfterStamp: multi[1].Stamp + 1},
		{StartKey: "a/b", AfterStamp: multi[len(multi)-1].Stamp},
		{StartKey: "a/b", AfterStamp: 1},
		{StartKey: "a/b", AfterStamp: ^uint64(0)},
		{StartKey: "a/b", AfterStamp: multi[1].Stamp, LatestOnly: true},
		{StartKey: "a/b", AfterStamp: ^uint64(0), LatestOnly: true},
		{StartKey: "a/b", AfterStamp: multi[1].Stamp, Prefix: "a/", WithData: true},
		{StartKey: "a/bx", AfterStamp: multi[1].Stamp},
		{AfterStamp: multi[1].Stamp}, // ignored without StartKey
		{AfterStamp: multi[1].Stamp, LatestOnly: true},
	}
	for _, o := range cases {
		o.Bucket = "bk"
		t.Run(fmt.Sprintf("%+q", fmt.Sprintf("%+v", o)), func(t *testing.T) {
			same(t, "scan", scanAll(t, s, o), model(all, o))
		})
	}
}

func testScanStop(t *testing.T, s meta.Store) {
	ctx := context.Background()
	all := scanFixture(t, s)
	for _, latest := range []bool{false, true} {
		var n int
		err := s.ScanVersions(ctx, meta.ScanOptions{Bucket: "bk", LatestOnly: latest}, func(meta.Version) error {
			n++
			if n == 3 {
				return meta.ErrStop
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("ErrStop (latest=%v): err = %v, calls = %d, want nil, 3", latest, err, n)
		}
		// A wrapped ErrStop stops too.
		n = 0
		err = s.ScanVersions(ctx, meta.ScanOptions{Bucket: "bk", LatestOnly: latest}, func(meta.Version) error {
			n++
			return fmt.Errorf("done: %w", meta.ErrStop)
		})
		if err != nil || n != 1 {
			t.Errorf("wrapped ErrStop: err = %v, calls = %d, want nil, 1", err, n)
		}
	}
	boom := errors.New("boom")
	var n int
	err := s.ScanVersions(ctx, meta.ScanOptions{Bucket: "bk"}, func(meta.Version) error {
		n++
		if n == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 5 {
		t.Errorf("callback error: err = %v, calls = %d, want boom, 5", err, n)
	}
	if len(all) < 5 {
		t.Fatal("fixture too small")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	n = 0
	err = s.ScanVersions(cctx, meta.ScanOptions{Bucket: "bk"}, func(meta.Version) error { n++; return nil })
	if !errors.Is(err, context.Canceled) || n == len(all) {
		t.Errorf("scan with cancelled ctx: err = %v after %d of %d versions", err, n, len(all))
	}
}

func testNullVersionReplace(t *testing.T, s meta.Store) {
	ctx := context.Background()
	null1 := sampleVersion("bk", "k", meta.NullVersionID, 10, []byte("first null"))
	v20 := sampleVersion("bk", "k", "v20", 20, []byte("v20"))
	putVersions(t, s, null1, v20)
	// A new null version (Suspended) replaces the old one and is newest.
	null2 := sampleVersion("bk", "k", meta.NullVersionID, 30, nil)
	putVersions(t, s, null2)
	same(t, "after replace", scanAll(t, s, meta.ScanOptions{Bucket: "bk", WithData: true}), []meta.Version{null2, v20})
	got, err := s.Version(ctx, "bk", "k", meta.NullVersionID)
	must(t, err)
	same(t, "null version", got, null2)
	got, err = s.Version(ctx, "bk", "k", "")
	must(t, err)
	same(t, "newest", got, null2)
	// Replaced by an older-stamped one (inline again): it moves down.
	null3 := sampleVersion("bk", "k", meta.NullVersionID, 15, []byte("third"))
	putVersions(t, s, null3)
	same(t, "after second replace", scanAll(t, s, meta.ScanOptions{Bucket: "bk", WithData: true}), []meta.Version{v20, null3})
	// Same stamp, new content: replaced in place.
	v20b := v20
	v20b.Tags = map[string]string{"changed": "yes"}
	v20b.ReplicationStatus = meta.ReplCompleted
	v20b.Inline = nil
	v20b.BlobID = "moved"
	putVersions(t, s, v20b)
	same(t, "after same-stamp replace", scanAll(t, s, meta.ScanOptions{Bucket: "bk", WithData: true}), []meta.Version{v20b, null3})
}

func testDeleteVersion(t *testing.T, s meta.Store) {
	ctx := context.Background()
	v1 := sampleVersion("bk", "k", "v1", 1, []byte("one"))
	v2 := sampleVersion("bk", "k", "v2", 2, []byte("two"))
	putVersions(t, s, v1, v2)
	for _, c := range []struct{ bucket, key, vid string }{{"bk", "k", "v3"}, {"bk", "x", "v1"}, {"bx", "k", "v1"}, {"bk", "k", ""}} {
		err := s.Update(ctx, func(tx meta.Tx) error { return tx.DeleteVersion(ctx, c.bucket, c.key, c.vid) })
		if !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("DeleteVersion(%q, %q, %q): err = %v, want ErrNotFound", c.bucket, c.key, c.vid, err)
		}
	}
	update(t, s, func(tx meta.Tx) error { return tx.DeleteVersion(ctx, "bk", "k", "v2") })
	if _, err := s.Version(ctx, "bk", "k", "v2"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("deleted version: err = %v", err)
	}
	got, err := s.Version(ctx, "bk", "k", "")
	must(t, err)
	same(t, "newest after delete", got, v1)
	update(t, s, func(tx meta.Tx) error { return tx.DeleteVersion(ctx, "bk", "k", "v1") })
	if _, err := s.Version(ctx, "bk", "k", ""); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("key without versions: err = %v, want ErrNotFound", err)
	}
	if got := scanAll(t, s, meta.ScanOptions{Bucket: "bk"}); len(got) != 0 {
		t.Errorf("scan after deleting all: %v", got)
	}
}

func testUploads(t *testing.T, s meta.Store) {
	ctx := context.Background()
	if _, err := s.Upload(ctx, "bk", "u1"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("missing upload: err = %v", err)
	}
	ups := []meta.Upload{
		sampleUpload("bk", "b", "u3", ts(1)),
		sampleUpload("bk", "a", "u9", ts(5)),
		sampleUpload("bk", "a", "u2", ts(5)), // same key and time: by upload ID
		sampleUpload("bk", "a", "u8", ts(2)),
		sampleUpload("bk", "a\x00", "u1", ts(0)),
		sampleUpload("bk", "a/b", "u0", ts(9)),
		sampleUpload("bk", "a", "u7", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)), // before 1970
		sampleUpload("bk\x00", "a", "ux", ts(1)),
		sampleUpload("bk2", "a", "uy", ts(1)),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	update(t, s, func(tx meta.Tx) error {
		for _, u := range shuffled(rng, ups) {
			if err := tx.PutUpload(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	want := []meta.Upload{ups[6], ups[3], ups[2], ups[1], ups[4], ups[5], ups[0]}
	var got []meta.Upload
	must(t, s.ScanUploads(ctx, "bk", func(u meta.Upload) error { got = append(got, u); return nil }))
	same(t, "ScanUploads", got, want)
	for _, u := range ups {
		g, err := s.Upload(ctx, u.Bucket, u.UploadID)
		must(t, err)
		same(t, "Upload "+u.UploadID, g, u)
	}
	if _, err := s.Upload(ctx, "bk2", "u3"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("upload of another bucket: err = %v, want ErrNotFound", err)
	}
	// Replacing an upload (new key and time) does not leave the old entry.
	moved := sampleUpload("bk", "zz", "u9", ts(7))
	update(t, s, func(tx meta.Tx) error { return tx.PutUpload(ctx, moved) })
	got = nil
	must(t, s.ScanUploads(ctx, "bk", func(u meta.Upload) error { got = append(got, u); return nil }))
	same(t, "ScanUploads after replace", got, []meta.Upload{ups[6], ups[3], ups[2], ups[4], ups[5], ups[0], moved})
	// ErrStop and errors.
	n := 0
	err := s.ScanUploads(ctx, "bk", func(meta.Upload) error { n++; return meta.ErrStop })
	if err != nil || n != 1 {
		t.Errorf("ScanUploads ErrStop: err = %v, n = %d", err, n)
	}
	boom := errors.New("boom")
	if err := s.ScanUploads(ctx, "bk", func(meta.Upload) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("ScanUploads error: %v", err)
	}
}

func testParts(t *testing.T, s meta.Store) {
	ctx := context.Background()
	u := sampleUpload("bk", "big", "u1", ts(1))
	nums := []int{10, 2, 1, 10000, 3, 256}
	var want []meta.Part
	update(t, s, func(tx meta.Tx) error {
		if err := tx.PutUpload(ctx, u); err != nil {
			return err
		}
		for i, n := range nums {
			var data []byte
			if i%2 == 0 {
				data = []byte(fmt.Sprintf("part %d", n))
			}
			p := samplePart("bk", "u1", n, data)
			want = append(want, p)
			if err := tx.PutPart(ctx, p); err != nil {
				return err
			}
		}
		// A part of another upload with the same number.
		return tx.PutPart(ctx, samplePart("bk", "u1x", 1, []byte("other")))
	})
	sort.Slice(want, func(i, j int) bool { return want[i].Number < want[j].Number })
	got, err := s.Parts(ctx, "bk", "u1", true)
	must(t, err)
	same(t, "Parts withData", got, want)
	got, err = s.Parts(ctx, "bk", "u1", false)
	must(t, err)
	noData := make([]meta.Part, len(want))
	for i, p := range want {
		p.Inline = nil
		noData[i] = p
	}
	same(t, "Parts without data", got, noData)
	// Replacing a part: inline data -> blob.
	p1 := samplePart("bk", "u1", 1, nil)
	update(t, s, func(tx meta.Tx) error { return tx.PutPart(ctx, p1) })
	got, err = s.Parts(ctx, "bk", "u1", true)
	must(t, err)
	want[0] = p1
	same(t, "Parts after replace", got, want)
	got, err = s.Parts(ctx, "bk", "nope", true)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("Parts of missing upload = %v", got)
	}
}

func testDeleteUpload(t *testing.T, s meta.Store) {
	ctx := context.Background()
	update(t, s, func(tx meta.Tx) error {
		for _, id := range []string{"u1", "u1\x00", "u2"} {
			if err := tx.PutUpload(ctx, sampleUpload("bk", "k", id, ts(1))); err != nil {
				return err
			}
			for n := 1; n <= 3; n++ {
				if err := tx.PutPart(ctx, samplePart("bk", id, n, []byte("d"))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteUpload(ctx, "bk", "u1") })
	if _, err := s.Upload(ctx, "bk", "u1"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("deleted upload: err = %v", err)
	}
	if ps, err := s.Parts(ctx, "bk", "u1", true); err != nil || len(ps) != 0 {
		t.Errorf("parts of deleted upload: %v, %v", ps, err)
	}
	for _, id := range []string{"u1\x00", "u2"} {
		if ps, err := s.Parts(ctx, "bk", id, true); err != nil || len(ps) != 3 {
			t.Errorf("parts of %q: %d, %v; want 3", id, len(ps), err)
		}
	}
	var ids []string
	must(t, s.ScanUploads(ctx, "bk", func(u meta.Upload) error { ids = append(ids, u.UploadID); return nil }))
	same(t, "remaining uploads", ids, []string{"u1\x00", "u2"})
	// Deleting a missing upload is not an error.
	update(t, s, func(tx meta.Tx) error { return tx.DeleteUpload(ctx, "bk", "u1") })
}

func testOutbox(t *testing.T, s meta.Store) {
	ctx := context.Background()
	if _, err := s.OutboxEntry(ctx, "x"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("missing entry: err = %v", err)
	}
	ids := []string{"0001", "0002", "0010", "0002\x00", "0002a", "1", "\xff", "0001-zone"}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, id := range shuffled(rng, ids) {
		e := sampleOutbox(id)
		update(t, s, func(tx meta.Tx) error { return tx.PutOutbox(ctx, e) })
	}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	idsOf := func(es []meta.OutboxEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	all := scanOutbox(t, s, "")
	same(t, "ScanOutbox order", idsOf(all), sorted)
	for _, e := range all {
		same(t, "entry "+e.ID, e, sampleOutbox(e.ID))
	}
	for _, after := range []string{"0001", "0002", "0002\x00", "0003", "0", "\xff", "\xff\xff", "00"} {
		var want []string
		for _, id := range sorted {
			if id > after {
				want = append(want, id)
			}
		}
		same(t, "ScanOutbox after "+after, idsOf(scanOutbox(t, s, after)), want)
	}
	got, err := s.OutboxEntry(ctx, "0002\x00")
	must(t, err)
	same(t, "OutboxEntry", got, sampleOutbox("0002\x00"))
	// Update an entry in place (retry bookkeeping).
	e := sampleOutbox("0010")
	e.State, e.Attempts, e.LastError = meta.OutboxFailed, 9, "denied"
	update(t, s, func(tx meta.Tx) error { return tx.PutOutbox(ctx, e) })
	got, err = s.OutboxEntry(ctx, "0010")
	must(t, err)
	same(t, "updated entry", got, e)
	update(t, s, func(tx meta.Tx) error {
		return errors.Join(tx.DeleteOutbox(ctx, "0002"), tx.DeleteOutbox(ctx, "never-existed"))
	})
	if _, err := s.OutboxEntry(ctx, "0002"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("deleted entry: err = %v", err)
	}
	if got := idsOf(scanOutbox(t, s, "0001-zone")); len(got) == 0 || got[0] != "0002\x00" {
		t.Errorf("after delete: %q", got)
	}
	n := 0
	if err := s.ScanOutbox(ctx, "", func(meta.OutboxEntry) error { n++; return meta.ErrStop }); err != nil || n != 1 {
		t.Errorf("ScanOutbox ErrStop: err = %v, n = %d", err, n)
	}
	boom := errors.New("boom")
	if err := s.ScanOutbox(ctx, "", func(meta.OutboxEntry) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("ScanOutbox error: %v", err)
	}
}

// writeEverything writes one record of every kind, tagged with n.
func writeEverything(ctx context.Context, tx meta.Tx, n int) error {
	id := fmt.Sprintf("%04d", n)
	return errors.Join(
		tx.PutBucket(ctx, sampleBucket("b"+id)),
		tx.PutVersion(ctx, sampleVersion("bk", "k"+id, "v"+id, uint64(n+1), []byte("x"))),
		tx.PutUpload(ctx, sampleUpload("bk", "k"+id, "u"+id, ts(n))),
		tx.PutPart(ctx, samplePart("bk", "u"+id, 1, []byte("p"))),
		tx.PutOutbox(ctx, sampleOutbox("o"+id)),
	)
}

// checkEverything reports whether the records of writeEverything(n) exist:
// all of them (true), none (false), or fails the test for a mix.
func checkEverything(t *testing.T, r meta.Reader, n int) bool {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("%04d", n)
	var found []bool
	_, err := r.Bucket(ctx, "b"+id)
	found = append(found, err == nil)
	_, err = r.Version(ctx, "bk", "k"+id, "v"+id)
	found = append(found, err == nil)
	_, err = r.Upload(ctx, "bk", "u"+id)
	found = append(found, err == nil)
	ps, err := r.Parts(ctx, "bk", "u"+id, false)
	found = append(found, err == nil && len(ps) == 1)
	_, err = r.OutboxEntry(ctx, "o"+id)
	found = append(found, err == nil)
	for _, f := range found[1:] {
		if f != found[0] {
			t.Fatalf("records of %d: partly written %v", n, found)
		}
	}
	return found[0]
}

func testUpdateAtomic(t *testing.T, s meta.Store) {
	ctx := context.Background()
	update(t, s, func(tx meta.Tx) error { return writeEverything(ctx, tx, 1) })
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx meta.Tx) error {
		if err := writeEverything(ctx, tx, 2); err != nil {
			return err
		}
		// Deletions in a failed Update are discarded too.
		if err := tx.DeleteVersion(ctx, "bk", "k0001", "v0001"); err != nil {
			return err
		}
		return fmt.Errorf("late failure: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if checkEverything(t, s, 2) {
		t.Error("writes of a failed Update are visible")
	}
	if !checkEverything(t, s, 1) {
		t.Error("deletion of a failed Update is visible")
	}
	// An Update that writes nothing succeeds.
	update(t, s, func(meta.Tx) error { return nil })
}

func testUpdateCancelled(t *testing.T, s meta.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Update(ctx, func(tx meta.Tx) error { return writeEverything(context.Background(), tx, 3) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with cancelled ctx: err = %v, want context.Canceled", err)
	}
	if checkEverything(t, s, 3) {
		t.Error("Update with cancelled ctx wrote")
	}
	// Cancelled during fn.
	ctx, cancel = context.WithCancel(context.Background())
	err = s.Update(ctx, func(tx meta.Tx) error {
		err := writeEverything(context.Background(), tx, 4)
		cancel()
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled during fn: err = %v, want context.Canceled", err)
	}
	if checkEverything(t, s, 4) {
		t.Error("Update cancelled during fn wrote")
	}
}

func testTxReadsOwnWrites(t *testing.T, s meta.Store) {
	ctx := context.Background()
	old := sampleVersion("bk", "k", "v1", 1, []byte("old"))
	gone := sampleVersion("bk", "k", "v0", 0x10, nil)
	putVersions(t, s, old, gone)
	update(t, s, func(tx meta.Tx) error { return tx.PutOutbox(ctx, sampleOutbox("o1")) })
	update(t, s, func(tx meta.Tx) error {
		must(t, writeEverything(ctx, tx, 7))
		if !checkEverything(t, tx, 7) {
			t.Error("tx does not see its own writes")
		}
		if checkEverything(t, s, 7) {
			t.Error("store sees uncommitted writes")
		}
		nv := sampleVersion("bk", "k", "v2", 2, []byte("new"))
		must(t, tx.PutVersion(ctx, nv))
		must(t, tx.DeleteVersion(ctx, "bk", "k", "v0"))
		got, err := tx.Version(ctx, "bk", "k", "")
		must(t, err)
		same(t, "tx newest", got, nv)
		var ofK []meta.Version
		for _, v := range scanAll(t, tx, meta.ScanOptions{Bucket: "bk", Prefix: "k", WithData: true}) {
			if v.Key == "k" {
				ofK = append(ofK, v)
			}
		}
		same(t, "tx scan", ofK, []meta.Version{nv, old})
		if _, err := tx.Version(ctx, "bk", "k", "v0"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("tx sees a version it deleted: %v", err)
		}
		must(t, tx.DeleteUpload(ctx, "bk", "u0007"))
		if _, err := tx.Upload(ctx, "bk", "u0007"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("tx sees an upload it deleted: %v", err)
		}
		if ps, err := tx.Parts(ctx, "bk", "u0007", true); err != nil || len(ps) != 0 {
			t.Errorf("tx sees parts of an upload it deleted: %v %v", ps, err)
		}
		must(t, tx.DeleteOutbox(ctx, "o1"))
		es := scanOutbox(t, tx, "")
		if len(es) != 1 || es[0].ID != "o0007" {
			t.Errorf("tx outbox scan: %v", es)
		}
		must(t, tx.DeleteBucket(ctx, "b0007"))
		if _, err := tx.Bucket(ctx, "b0007"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("tx sees a bucket it deleted: %v", err)
		}
		bs, err := tx.Buckets(ctx)
		must(t, err)
		if len(bs) != 0 {
			t.Errorf("tx Buckets: %v", bs)
		}
		return nil
	})
	got, err := s.Version(ctx, "bk", "k", "")
	must(t, err)
	if got.VersionID != "v2" {
		t.Errorf("after commit newest = %s", got.VersionID)
	}
	if _, err := s.Upload(ctx, "bk", "u0007"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("upload deleted in tx: %v", err)
	}
}

func testConcurrentUpdates(t *testing.T, s meta.Store) {
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := w*each + i
				if err := s.Update(context.Background(), func(tx meta.Tx) error {
					return writeEverything(context.Background(), tx, n)
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for n := range workers * each {
		if !checkEverything(t, s, n) {
			t.Fatalf("records of Update %d missing", n)
		}
	}
	if es := scanOutbox(t, s, ""); len(es) != workers*each {
		t.Errorf("outbox has %d entries, want %d", len(es), workers*each)
	}
}

func testFaulty(t *testing.T, s meta.Store) {
	ctx := context.Background()
	f := NewFaulty(s)
	injected := errors.New("injected")
	f.FailNth(2, injected)
	for n := 1; n <= 3; n++ {
		err := f.Update(ctx, func(tx meta.Tx) error { return writeEverything(ctx, tx, n) })
		if want := n == 2; errors.Is(err, injected) != want || (err != nil && !want) {
			t.Fatalf("Update %d: err = %v", n, err)
		}
		if got := checkEverything(t, f, n); got != (n != 2) {
			t.Errorf("Update %d: written = %v", n, got)
		}
	}
	f.FailAll(injected)
	for n := 4; n <= 5; n++ {
		if err := f.Update(ctx, func(tx meta.Tx) error { return writeEverything(ctx, tx, n) }); !errors.Is(err, injected) {
			t.Errorf("FailAll: Update %d: err = %v", n, err)
		}
		if checkEverything(t, f, n) {
			t.Errorf("FailAll: Update %d wrote", n)
		}
	}
	// fn's own error wins over the injected one.
	own := errors.New("own")
	if err := f.Update(ctx, func(meta.Tx) error { return own }); !errors.Is(err, own) {
		t.Errorf("fn error under FailAll: %v", err)
	}
	f.Heal()
	if err := f.Update(ctx, func(tx meta.Tx) error { return writeEverything(ctx, tx, 6) }); err != nil {
		t.Fatal(err)
	}
	if !checkEverything(t, f, 6) {
		t.Error("after Heal: not written")
	}
	if got := f.Updates(); got != 7 {
		t.Errorf("Updates() = %d, want 7", got)
	}
}
