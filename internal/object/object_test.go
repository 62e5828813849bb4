package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sos/internal/blob"
	"sos/internal/meta"
)

func TestBucketNames(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"abc", true}, {"my.bucket-1", true}, {"ab", false}, {strings.Repeat("a", 64), false},
		{strings.Repeat("a", 63), true}, {"Abc", false}, {"a_b", false}, {"-ab", false}, {"ab-", false},
		{"a..b", false}, {"a.-b", false}, {"192.168.1.1", false}, {"xn--abc", false}, {"abc-s3alias", false},
		{"../etc", false}, {"a\x00b", false},
	} {
		err := checkBucketName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("checkBucketName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidBucketName) {
			t.Errorf("checkBucketName(%q) = %v, not ErrInvalidBucketName", c.name, err)
		}
	}
	// The reason is bucketname's, in the object service's kind of error.
	if err, want := checkBucketName("a.-b"), `invalid bucket name: "a.-b" must not hold a period next to a hyphen`; err == nil || err.Error() != want {
		t.Errorf("checkBucketName(a.-b) = %v, want %s", err, want)
	}
}

// registry is the control plane's namespace as seen by one zone, shared by
// two services in this test.
type registry struct{ names map[string]string }

func (r *registry) zone(z string) BucketRegistry { return zoneRegistry{r, z} }

type zoneRegistry struct {
	r *registry
	z string
}

func (z zoneRegistry) Register(_ context.Context, name string) error {
	if owner, ok := z.r.names[name]; ok {
		if owner == z.z {
			return ErrBucketOwnedByYou
		}
		return ErrBucketExists
	}
	z.r.names[name] = z.z
	return nil
}

func (z zoneRegistry) Unregister(_ context.Context, name string) error {
	delete(z.r.names, name)
	return nil
}

func TestBucketLifecycle(t *testing.T) {
	reg := &registry{names: map[string]string{}}
	a := newEnv(t, func(o *Options) { o.Registry = reg.zone("a") })
	b := newEnv(t, func(o *Options) { o.Registry = reg.zone("bkt"); o.Zone = "at-vie-1" })
	must(t, a.svc.CreateBucket(ctx, "shared"))
	wantErr(t, b.svc.CreateBucket(ctx, "shared"), ErrBucketExists)
	wantErr(t, a.svc.CreateBucket(ctx, "shared"), ErrBucketOwnedByYou)
	wantErr(t, a.svc.CreateBucket(ctx, "Bad_Name"), ErrInvalidBucketName)
	if _, err := b.svc.Bucket(ctx, "shared"); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("zone b has the bucket: %v", err)
	}
	bk, err := a.svc.Bucket(ctx, "shared")
	must(t, err)
	if bk.Zone != "ch-dk-2" || bk.Versioning != meta.Unversioned {
		t.Fatalf("bucket = %+v", bk)
	}

	// Not empty while a version or a delete marker exists.
	must(t, a.svc.SetVersioning(ctx, "shared", meta.Enabled))
	oi := a.put(t, "shared", "k", "x")
	wantErr(t, a.svc.DeleteBucket(ctx, "shared"), ErrBucketNotEmpty)
	_, err = a.svc.DeleteObject(ctx, DeleteInput{Bucket: "shared", Key: "k", VersionID: oi.VersionID})
	must(t, err)
	d, err := a.svc.DeleteObject(ctx, DeleteInput{Bucket: "shared", Key: "k"})
	must(t, err)
	wantErr(t, a.svc.DeleteBucket(ctx, "shared"), ErrBucketNotEmpty) // the delete marker
	_, err = a.svc.DeleteObject(ctx, DeleteInput{Bucket: "shared", Key: "k", VersionID: d.VersionID})
	must(t, err)
	// Uploads in progress go with the bucket, as on S3, parts and all.
	id, err := a.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "shared", Key: "u"})
	must(t, err)
	_, err = a.svc.UploadPart(ctx, UploadPartInput{Bucket: "shared", Key: "u", UploadID: id, PartNumber: 1,
		Body: strings.NewReader(strings.Repeat("p", 100<<10)), Size: 100 << 10})
	must(t, err)
	must(t, a.svc.DeleteBucket(ctx, "shared"))
	wantErr(t, a.svc.AbortUpload(ctx, "shared", "u", id), ErrNoSuchBucket)
	wantErr(t, a.svc.DeleteBucket(ctx, "shared"), ErrNoSuchBucket)
	// The name is free again, in any zone.
	must(t, b.svc.CreateBucket(ctx, "shared"))
	bs, err := b.svc.ListBuckets(ctx)
	must(t, err)
	if len(bs) != 1 || bs[0].Name != "shared" {
		t.Fatalf("ListBuckets = %+v", bs)
	}
}

func TestVersioningRules(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Unversioned)
	wantErr(t, e.svc.SetVersioning(ctx, "nope", meta.Enabled), ErrNoSuchBucket)
	wantErr(t, e.svc.SetReplication(ctx, "bkt", replCfg("dst", false)), ErrInvalidRequest) // unversioned
	must(t, e.svc.SetVersioning(ctx, "bkt", meta.Enabled))
	must(t, e.svc.SetReplication(ctx, "bkt", replCfg("dst", false)))
	err := e.svc.SetVersioning(ctx, "bkt", meta.Suspended)
	wantErr(t, err, ErrInvalidRequest)
	if !strings.Contains(err.Error(), "replication requires versioning Enabled") {
		t.Fatalf("message: %v", err)
	}
	must(t, e.svc.SetReplication(ctx, "bkt", nil))
	if _, err := e.svc.Replication(ctx, "bkt"); !errors.Is(err, ErrReplicationConfigNotFound) {
		t.Fatalf("Replication after delete = %v", err)
	}
	must(t, e.svc.SetVersioning(ctx, "bkt", meta.Suspended))
	wantErr(t, e.svc.SetVersioning(ctx, "bkt", meta.Unversioned), ErrInvalidArgument)
}

func TestPutDigestsAndLimits(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Unversioned)
	data := []byte("hello, world")
	sum := md5.Sum(data)
	crc := crc32.ChecksumIEEE(data)
	crcB64 := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	crcc := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	crccB64 := base64.StdEncoding.EncodeToString([]byte{byte(crcc >> 24), byte(crcc >> 16), byte(crcc >> 8), byte(crcc)})
	sha := sha256.Sum256(data)
	shaB64 := base64.StdEncoding.EncodeToString(sha[:])
	big := pattern(200<<10, 3) // goes to a blob
	bigSum := md5.Sum(big)
	for _, c := range []struct {
		name string
		in   PutInput
		want error
	}{
		{"md5 ok", PutInput{Key: "k", ContentMD5: sum[:]}, nil},
		{"md5 bad", PutInput{Key: "k", ContentMD5: make([]byte, 16)}, ErrBadDigest},
		{"md5 malformed", PutInput{Key: "k", ContentMD5: []byte{1, 2}}, ErrInvalidDigest},
		{"md5 ok blob", PutInput{Key: "k", Body: bytes.NewReader(big), Size: int64(len(big)), ContentMD5: bigSum[:]}, nil},
		{"md5 bad blob", PutInput{Key: "k", Body: bytes.NewReader(big), Size: int64(len(big)), ContentMD5: sum[:]}, ErrBadDigest},
		{"crc32 ok", PutInput{Key: "k", Checksum: &Checksum{"CRC32", crcB64}}, nil},
		{"crc32c ok", PutInput{Key: "k", Checksum: &Checksum{"crc32c", crccB64}}, nil},
		{"sha256 ok", PutInput{Key: "k", Checksum: &Checksum{"SHA256", shaB64}}, nil},
		{"sha256 bad", PutInput{Key: "k", Checksum: &Checksum{"SHA256", crcB64}}, ErrInvalidDigest},
		{"crc32 mismatch", PutInput{Key: "k", Checksum: &Checksum{"CRC32", crccB64}}, ErrBadDigest},
		{"unknown alg", PutInput{Key: "k", Checksum: &Checksum{"MD4", "AAAA"}}, ErrInvalidArgument},
		{"trailer ok", PutInput{Key: "k", Checksum: &Checksum{"CRC32", ""}, TrailerChecksum: func() (Checksum, bool) { return Checksum{"CRC32", crcB64}, true }}, nil},
		{"trailer bad", PutInput{Key: "k", Checksum: &Checksum{"CRC32", ""}, TrailerChecksum: func() (Checksum, bool) { return Checksum{"CRC32", crccB64}, true }}, ErrBadDigest},
		{"short body", PutInput{Key: "k", Size: 100}, ErrIncompleteBody},
		{"long body", PutInput{Key: "k", Body: bytes.NewReader(big), Size: 10}, ErrIncompleteBody},
		{"long body by one", PutInput{Key: "k", Body: bytes.NewReader(data), Size: int64(len(data) - 1)}, ErrIncompleteBody},
		{"body failing at EOF", PutInput{Key: "k", Body: io.MultiReader(bytes.NewReader(data), errReader{errAtEOF}), Size: int64(len(data))}, errAtEOF},
		{"too large", PutInput{Key: "k", Size: MaxPutSize + 1}, ErrEntityTooLarge},
		{"key too long", PutInput{Key: strings.Repeat("k", 1025)}, ErrKeyTooLong},
		{"empty key", PutInput{Key: ""}, ErrInvalidArgument},
		{"meta too large", PutInput{Key: "k", Attrs: meta.Attrs{UserMeta: map[string]string{"a": strings.Repeat("x", 2048)}}}, ErrMetadataTooLarge},
		{"meta too large in many entries", PutInput{Key: "k", Attrs: meta.Attrs{UserMeta: map[string]string{"a": strings.Repeat("x", 1023), "b": strings.Repeat("y", 1024)}}}, ErrMetadataTooLarge},
		{"too many tags", PutInput{Key: "k", Tags: map[string]string{"1": "", "2": "", "3": "", "4": "", "5": "", "6": "", "7": "", "8": "", "9": "", "10": "", "11": ""}}, ErrInvalidTag},
		{"tag key too long", PutInput{Key: "k", Tags: map[string]string{strings.Repeat("k", 129): "v"}}, ErrInvalidTag},
		{"tag value too long", PutInput{Key: "k", Tags: map[string]string{"k": strings.Repeat("v", 257)}}, ErrInvalidTag},
		{"tag aws:", PutInput{Key: "k", Tags: map[string]string{"aws:x": "v"}}, ErrInvalidTag},
		{"no bucket", PutInput{Bucket: "nope", Key: "k"}, ErrNoSuchBucket},
		{"delete marker without replica", PutInput{Key: "k", IsDeleteMarker: true}, ErrInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in.Bucket == "" {
				in.Bucket = "bkt"
			}
			if in.Body == nil {
				in.Body = bytes.NewReader(data)
				if in.Size == 0 {
					in.Size = int64(len(data))
				}
			}
			before := e.blobIDs(t)
			oi, err := e.svc.PutObject(ctx, in)
			wantErr(t, err, c.want)
			if err != nil {
				if after := e.blobIDs(t); len(after) != len(before) {
					t.Fatalf("a failed put left blobs: %v -> %v", before, after)
				}
				return
			}
			body := data
			if in.Size == int64(len(big)) {
				body = big
			}
			if oi.ETag != md5hex(body) {
				t.Fatalf("ETag = %s", oi.ETag)
			}
			if in.Checksum != nil && len(oi.Checksums) != 1 {
				t.Fatalf("checksums = %v", oi.Checksums)
			}
		})
	}
	// A reader error surfaces as is and leaves nothing behind.
	boom := errors.New("boom")
	_, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "x", Body: io.MultiReader(bytes.NewReader(big), errReader{boom}), Size: -1})
	wantErr(t, err, boom)
}

// errAtEOF stands for a signed body whose verification fails at its end.
var errAtEOF = errors.New("payload hash mismatch at EOF")

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestRangesAndConditions(t *testing.T) {
	for _, inlineMax := range []int{-1, 0} { // blob and inline storage
		e := newEnv(t, func(o *Options) { o.InlineMax = inlineMax })
		e.bucket(t, "bkt", meta.Unversioned)
		data := pattern(1000, 9)
		oi, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "k", Body: bytes.NewReader(data), Size: 1000})
		must(t, err)
		e.put(t, "bkt", "empty", "")
		lm := oi.LastModified.Truncate(time.Second)
		before, after := lm.Add(-time.Hour), lm.Add(time.Hour)
		etag := `"` + oi.ETag + `"`
		for _, c := range []struct {
			name        string
			key         string
			rng         *Range
			cond        Conditions
			want        error
			first, size int64
		}{
			{"whole", "k", nil, Conditions{}, nil, 0, 1000},
			{"first-last", "k", &Range{First: 10, Last: 19}, Conditions{}, nil, 10, 10},
			{"open end", "k", &Range{First: 990, Last: -1}, Conditions{}, nil, 990, 10},
			{"last beyond end", "k", &Range{First: 990, Last: 5000}, Conditions{}, nil, 990, 10},
			{"suffix", "k", &Range{Suffix: 100}, Conditions{}, nil, 900, 100},
			{"suffix beyond size", "k", &Range{Suffix: 5000}, Conditions{}, nil, 0, 1000},
			{"first beyond end", "k", &Range{First: 1000, Last: -1}, Conditions{}, ErrInvalidRange, 0, 0},
			{"reversed", "k", &Range{First: 10, Last: 5}, Conditions{}, ErrInvalidRange, 0, 0},
			{"empty object range", "empty", &Range{First: 0, Last: 0}, Conditions{}, ErrInvalidRange, 0, 0},
			{"if-match ok", "k", nil, Conditions{IfMatch: etag}, nil, 0, 1000},
			{"if-match star", "k", nil, Conditions{IfMatch: "*"}, nil, 0, 1000},
			{"if-match list", "k", nil, Conditions{IfMatch: `"x", ` + etag}, nil, 0, 1000},
			{"if-match fails", "k", nil, Conditions{IfMatch: `"nope"`}, ErrPreconditionFailed, 0, 0},
			{"if-match beats unmodified-since", "k", nil, Conditions{IfMatch: etag, IfUnmodifiedSince: &before}, nil, 0, 1000},
			{"unmodified-since fails", "k", nil, Conditions{IfUnmodifiedSince: &before}, ErrPreconditionFailed, 0, 0},
			{"unmodified-since ok", "k", nil, Conditions{IfUnmodifiedSince: &after}, nil, 0, 1000},
			{"none-match hits", "k", nil, Conditions{IfNoneMatch: etag}, ErrNotModified, 0, 0},
			{"none-match star", "k", nil, Conditions{IfNoneMatch: "*"}, ErrNotModified, 0, 0},
			{"none-match misses", "k", nil, Conditions{IfNoneMatch: `"x"`}, nil, 0, 1000},
			{"none-match beats modified-since", "k", nil, Conditions{IfNoneMatch: `"x"`, IfModifiedSince: &after}, nil, 0, 1000},
			{"modified-since not", "k", nil, Conditions{IfModifiedSince: &after}, ErrNotModified, 0, 0},
			{"modified-since same second", "k", nil, Conditions{IfModifiedSince: &lm}, ErrNotModified, 0, 0},
			{"modified-since yes", "k", nil, Conditions{IfModifiedSince: &before}, nil, 0, 1000},
			{"412 before 416", "k", &Range{First: 5000, Last: -1}, Conditions{IfMatch: `"x"`}, ErrPreconditionFailed, 0, 0},
			{"none-match + range", "k", &Range{First: 0, Last: 0}, Conditions{IfNoneMatch: `"x"`}, nil, 0, 1},
		} {
			out, err := e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: c.key, Range: c.rng, Conditions: c.cond})
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("inline=%d %s: err = %v, want %v", inlineMax, c.name, err, c.want)
			}
			if err != nil {
				if out.Info.ETag == "" && c.key == "k" {
					t.Errorf("%s: no info with the error", c.name)
				}
				var ce *ConditionError
				if cond := errors.As(err, &ce); cond != (c.want == ErrPreconditionFailed || c.want == ErrNotModified) {
					t.Errorf("%s: %v is a ConditionError: %v", c.name, err, cond)
				} else if cond && !strings.HasPrefix(ce.Header, "If-") {
					t.Errorf("%s: condition header %q", c.name, ce.Header)
				}
				continue
			}
			got := readAll(t, out.Body)
			if !bytes.Equal(got, data[c.first:c.first+c.size]) || out.Ranged != (c.rng != nil) || (c.rng != nil && (out.RangeFirst != c.first || out.RangeLength != c.size)) {
				t.Fatalf("%s: got %d bytes from %d (ranged %v first %d len %d)", c.name, len(got), c.first, out.Ranged, out.RangeFirst, out.RangeLength)
			}
			h, err := e.svc.HeadObject(ctx, GetInput{Bucket: "bkt", Key: c.key, Range: c.rng, Conditions: c.cond})
			must(t, err)
			if h.Body != nil || h.Info.Size != int64(len(data)) {
				t.Fatalf("%s: head = %+v", c.name, h)
			}
		}
		_, err = e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "k", VersionID: "not-an-id"})
		wantErr(t, err, ErrInvalidArgument)
		_, err = e.svc.GetObject(ctx, GetInput{Bucket: "nope", Key: "k"})
		wantErr(t, err, ErrNoSuchBucket)
		_, err = e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "k", PartNumber: 2})
		wantErr(t, err, ErrInvalidRange)
	}
}

func TestHostileKeys(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.InlineMax = -1 }) // force files
	e.bucket(t, "bkt", meta.Enabled)
	keys := []string{"../../etc/passwd", "/abs/path", "a\x00b", "..", ".", "a/../../b", "\\windows\\system32", strings.Repeat("k", 1024), "ünïcødé/ключ", "%2e%2e/x", " "}
	for i, k := range keys {
		data := strings.Repeat(string(rune('a'+i)), 10)
		e.put(t, "bkt", k, data)
		if got := e.mustGet(t, "bkt", k, ""); got != data {
			t.Fatalf("key %q: got %q", k, got)
		}
	}
	_, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: strings.Repeat("k", 1025), Body: strings.NewReader("x"), Size: 1})
	wantErr(t, err, ErrKeyTooLong)
	_, err = e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: strings.Repeat("k", 1025)})
	wantErr(t, err, ErrKeyTooLong)
	lo, err := e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", MaxKeys: 100})
	must(t, err)
	if len(lo.Objects) != len(keys) {
		t.Fatalf("listed %d keys, want %d", len(lo.Objects), len(keys))
	}
	// Nothing but the data folders was written to.
	if _, err := e.blobs.Open(ctx, "../../etc/passwd"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestTagging(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Enabled)
	v1, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "k", Body: strings.NewReader("1"), Size: 1, Tags: map[string]string{"a": "1"}})
	must(t, err)
	v2 := e.put(t, "bkt", "k", "2")
	if v1.TagCount != 1 || v2.TagCount != 0 {
		t.Fatalf("tag counts %d %d", v1.TagCount, v2.TagCount)
	}
	id, err := e.svc.PutTagging(ctx, "bkt", "k", "", map[string]string{"x": "y", "z": ""})
	must(t, err)
	if id != v2.VersionID {
		t.Fatalf("tagged %s, want latest %s", id, v2.VersionID)
	}
	tags, id, err := e.svc.GetTagging(ctx, "bkt", "k", v1.VersionID)
	must(t, err)
	if id != v1.VersionID || len(tags) != 1 || tags["a"] != "1" {
		t.Fatalf("v1 tags %v %s", tags, id)
	}
	tags, _, err = e.svc.GetTagging(ctx, "bkt", "k", "")
	must(t, err)
	if len(tags) != 2 || tags["x"] != "y" {
		t.Fatalf("latest tags %v", tags)
	}
	_, err = e.svc.DeleteTagging(ctx, "bkt", "k", v1.VersionID)
	must(t, err)
	tags, _, err = e.svc.GetTagging(ctx, "bkt", "k", v1.VersionID)
	must(t, err)
	if len(tags) != 0 {
		t.Fatalf("after delete: %v", tags)
	}
	if got := e.mustGet(t, "bkt", "k", v1.VersionID); got != "1" {
		t.Fatalf("tagging changed the data: %q", got)
	}
	_, err = e.svc.PutTagging(ctx, "bkt", "k", "", map[string]string{"bad\x01": "v"})
	wantErr(t, err, ErrInvalidTag)
	_, err = e.svc.PutTagging(ctx, "bkt", "nope", "", map[string]string{"a": "bkt"})
	wantErr(t, err, ErrNoSuchKey)
	d, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: "k"})
	must(t, err)
	_, err = e.svc.PutTagging(ctx, "bkt", "k", d.VersionID, map[string]string{"a": "bkt"})
	wantErr(t, err, ErrMethodNotAllowed)
	_, _, err = e.svc.GetTagging(ctx, "bkt", "k", "")
	wantErr(t, err, ErrNoSuchKey)
}

func TestCopyObject(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "src", meta.Enabled)
	e.bucket(t, "dst", meta.Unversioned)
	attrs := meta.Attrs{ContentType: "text/plain", UserMeta: map[string]string{"who": "me"}}
	big := pattern(300<<10, 1)
	v1, err := e.svc.PutObject(ctx, PutInput{Bucket: "src", Key: "k", Body: bytes.NewReader(big), Size: int64(len(big)), Attrs: attrs, Tags: map[string]string{"t": "1"}})
	must(t, err)
	e.put(t, "src", "k", "newer")

	// COPY of an older version: data, metadata and tags come along.
	out, err := e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", SrcVersionID: v1.VersionID, Bucket: "dst", Key: "c1"})
	must(t, err)
	if out.SrcVersionID != v1.VersionID || out.Info.ETag != v1.ETag || out.Info.VersionID != "" {
		t.Fatalf("copy out %+v", out)
	}
	g, err := e.svc.GetObject(ctx, GetInput{Bucket: "dst", Key: "c1"})
	must(t, err)
	if !bytes.Equal(readAll(t, g.Body), big) || g.Info.Attrs.ContentType != "text/plain" || g.Info.Attrs.UserMeta["who"] != "me" || g.Info.TagCount != 1 {
		t.Fatalf("copied info %+v", g.Info)
	}
	// REPLACE metadata and tags.
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", Bucket: "dst", Key: "c2",
		ReplaceMetadata: true, Attrs: meta.Attrs{ContentType: "a/b"}, ReplaceTags: true, Tags: map[string]string{"n": "2", "m": "3"}})
	must(t, err)
	g, err = e.svc.HeadObject(ctx, GetInput{Bucket: "dst", Key: "c2"})
	must(t, err)
	if g.Info.Attrs.ContentType != "a/b" || g.Info.Attrs.UserMeta != nil || g.Info.TagCount != 2 || g.Info.Size != 5 {
		t.Fatalf("replaced info %+v", g.Info)
	}
	// Onto itself: refused without REPLACE, allowed with it or from a version.
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", Bucket: "src", Key: "k"})
	wantErr(t, err, ErrInvalidRequest)
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", Bucket: "src", Key: "k", ReplaceMetadata: true})
	must(t, err)
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", SrcVersionID: v1.VersionID, Bucket: "src", Key: "k"})
	must(t, err)
	if got := e.mustGet(t, "src", "k", ""); got != string(big) {
		t.Fatal("restore by copy failed")
	}
	// Source conditions: a failed If-None-Match is 412 for copies.
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", Bucket: "dst", Key: "c3", SrcConditions: Conditions{IfNoneMatch: "*"}})
	wantErr(t, err, ErrPreconditionFailed)
	var ce *ConditionError
	if !errors.As(err, &ce) || ce.Header != "x-amz-copy-source-If-None-Match" || errors.Is(err, ErrNotModified) {
		t.Fatalf("copy condition error: %#v", err)
	}
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "nope", Bucket: "dst", Key: "c3"})
	wantErr(t, err, ErrNoSuchKey)
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", Bucket: "nope", Key: "c3"})
	wantErr(t, err, ErrNoSuchBucket)
	d, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "src", Key: "k"})
	must(t, err)
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", Bucket: "dst", Key: "c3"})
	wantErr(t, err, ErrNoSuchKey)
	_, err = e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "k", SrcVersionID: d.VersionID, Bucket: "dst", Key: "c3"})
	wantErr(t, err, ErrInvalidRequest)
}

func TestConditionalPut(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.bucket(t, "cpb", meta.Enabled)
	put := func(data string, ifMatch, ifNoneMatch string) (ObjectInfo, error) {
		return e.svc.PutObject(ctx, PutInput{Bucket: "cpb", Key: "k", Body: strings.NewReader(data), Size: int64(len(data)),
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
	}
	_, err := put("x", `"abc"`, "")
	wantErr(t, err, ErrNoSuchKey)
	first, err := put("one", "", "*")
	must(t, err)
	_, err = put("two", "", "*")
	wantErr(t, err, ErrPreconditionFailed)
	var ce *ConditionError
	if !errors.As(err, &ce) || ce.Header != "If-None-Match" {
		t.Fatalf("condition: %#v", err)
	}
	_, err = put("two", `"`+md5hex([]byte("nope"))+`"`, "")
	wantErr(t, err, ErrPreconditionFailed)
	_, err = put("two", "", `"`+first.ETag+`"`)
	wantErr(t, err, ErrInvalidArgument)
	_, err = put("two", `"`+first.ETag+`"`, "")
	must(t, err)
	if got := e.mustGet(t, "cpb", "k", ""); got != "two" {
		t.Fatalf("after If-Match: %q", got)
	}
	if n := len(e.versions(t, "cpb")); n != 2 {
		t.Fatalf("%d versions, want 2 (failed writes add none)", n)
	}
	// A delete marker is no current object.
	_, err = e.svc.DeleteObject(ctx, DeleteInput{Bucket: "cpb", Key: "k"})
	must(t, err)
	_, err = put("three", "*", "")
	wantErr(t, err, ErrNoSuchKey)
	_, err = put("three", "", "*")
	must(t, err)
	// Of many concurrent If-None-Match: * writes of a new key, one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.PutObject(ctx, PutInput{Bucket: "cpb", Key: "race", Body: strings.NewReader(fmt.Sprint(i)), Size: -1, IfNoneMatch: "*"})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, ErrPreconditionFailed):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d writers won", wins.Load())
	}
}
