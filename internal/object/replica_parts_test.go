package object

import (
	"bytes"
	"io"
	"testing"
	"time"

	"sos/internal/meta"
	"sos/internal/versionid"
)

// uploadParts uploads parts of the given sizes to a new upload (made with
// replica, when set) and returns its ID, the parts and the data.
func uploadParts(t *testing.T, e *env, bucket, key string, replica *ReplicaInfo, sizes ...int) (string, []CompletePart, []byte) {
	t.Helper()
	id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: bucket, Key: key, Replica: replica})
	must(t, err)
	var all []byte
	var parts []CompletePart
	for i, n := range sizes {
		data := pattern(n, byte(i+1))
		p, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: bucket, Key: key, UploadID: id, PartNumber: i + 1, Body: bytes.NewReader(data), Size: int64(n)})
		must(t, err)
		parts = append(parts, CompletePart{Number: i + 1, ETag: p.ETag})
		all = append(all, data...)
	}
	return id, parts, all
}

// The stream replication reads a multipart version from is an io.ReaderAt
// across its parts, so that parts are sent without a copy in memory.
func TestOpenVersionOfPartsReadsAtAnyOffset(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Enabled)
	id, parts, data := uploadParts(t, e, "bkt", "mp", nil, MinPartSize, MinPartSize, 100)
	_, err := e.svc.CompleteUpload(ctx, "bkt", "mp", id, parts)
	must(t, err)
	_, body, err := e.svc.OpenVersion(ctx, "bkt", "mp", "")
	must(t, err)
	defer body.Close()
	ra, ok := body.(io.ReaderAt)
	if !ok {
		t.Fatalf("%T is no io.ReaderAt", body)
	}
	for _, c := range []struct{ off, n int }{{0, 10}, {MinPartSize - 3, 6}, {MinPartSize, MinPartSize}, {2*MinPartSize - 1, 101}, {0, len(data)}, {len(data) - 1, 1}} {
		buf := make([]byte, c.n)
		n, err := ra.ReadAt(buf, int64(c.off))
		if err != nil || n != c.n || !bytes.Equal(buf, data[c.off:c.off+c.n]) {
			t.Fatalf("ReadAt(%d bytes at %d): %d, %v, same bytes %v", c.n, c.off, n, err, bytes.Equal(buf[:n], data[c.off:c.off+n]))
		}
	}
	buf := make([]byte, 10)
	if n, err := ra.ReadAt(buf, int64(len(data)-4)); n != 4 || err != io.EOF || !bytes.Equal(buf[:4], data[len(data)-4:]) {
		t.Fatalf("ReadAt past the end: %d, %v", n, err)
	}
	if n, err := ra.ReadAt(buf, int64(len(data))); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end: %d, %v", n, err)
	}
	// The stream itself still reads from the start.
	got, err := io.ReadAll(body)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stream: %d bytes, %v", len(got), err)
	}
}

// A replica of a multipart source is completed from the source's parts (as
// many, making the source's ETag) and then answers part reads as the
// source; a replica of a single-part source sent in pieces has one part; a
// PUT cannot claim parts it cannot have.
func TestReplicaPartLayout(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "src", meta.Enabled)
	e.bucket(t, "dst", meta.Enabled)
	sizes := []int{MinPartSize, MinPartSize, 1000}
	id, parts, data := uploadParts(t, e, "src", "mp", nil, sizes...)
	source, err := e.svc.CompleteUpload(ctx, "src", "mp", id, parts)
	must(t, err)
	vids := versionid.New("at-vie-1", func() time.Time { return time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC) })
	rep := &ReplicaInfo{VersionID: versionid.Format(vids.Now()), LastModified: source.LastModified, ETag: source.ETag, PartsCount: 3}

	rid, rparts, _ := uploadParts(t, e, "dst", "mp", rep, sizes...)
	_, err = e.svc.CompleteUpload(ctx, "dst", "mp", rid, rparts[:2])
	wantErr(t, err, ErrInvalidPart) // 2 parts of a 3-part source
	other, oparts, _ := uploadParts(t, e, "dst", "mp", rep, MinPartSize, MinPartSize+1000, 0)
	_, err = e.svc.CompleteUpload(ctx, "dst", "mp", other, oparts)
	wantErr(t, err, ErrInvalidPart) // 3 parts, other boundaries: another ETag
	must(t, e.svc.AbortUpload(ctx, "dst", "mp", other))
	replica, err := e.svc.CompleteUpload(ctx, "dst", "mp", rid, rparts)
	must(t, err)
	if replica.PartsCount != 3 || replica.ETag != source.ETag || replica.ReplicationStatus != meta.ReplReplica {
		t.Fatalf("replica %+v", replica)
	}
	off := 0
	for n := 1; n <= 3; n++ {
		for _, b := range []string{"src", "dst"} {
			g, err := e.svc.GetObject(ctx, GetInput{Bucket: b, Key: "mp", PartNumber: n})
			must(t, err)
			got, _ := io.ReadAll(g.Body)
			g.Body.Close()
			if g.Info.PartsCount != 3 || g.RangeFirst != int64(off) || !bytes.Equal(got, data[off:off+sizes[n-1]]) {
				t.Fatalf("%s part %d: %d parts, from %d, %d bytes", b, n, g.Info.PartsCount, g.RangeFirst, len(got))
			}
		}
		off += sizes[n-1]
	}

	// A single-part source of 2 pieces.
	single := &ReplicaInfo{VersionID: versionid.Format(vids.Now()), ETag: "0123456789abcdef0123456789abcdef"}
	sid, sparts, sdata := uploadParts(t, e, "dst", "single", single, MinPartSize, 10)
	s, err := e.svc.CompleteUpload(ctx, "dst", "single", sid, sparts)
	must(t, err)
	if s.PartsCount != 0 || s.ETag != single.ETag {
		t.Fatalf("single-part replica %+v", s)
	}
	g, err := e.svc.GetObject(ctx, GetInput{Bucket: "dst", Key: "single", PartNumber: 1})
	must(t, err)
	got, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if !bytes.Equal(got, sdata) || g.Info.PartsCount != 0 {
		t.Fatalf("part 1 of a single-part replica: %d bytes, %d parts", len(got), g.Info.PartsCount)
	}
	_, err = e.svc.GetObject(ctx, GetInput{Bucket: "dst", Key: "single", PartNumber: 2})
	wantErr(t, err, ErrInvalidRange)

	// One PUT cannot be a replica of several parts.
	_, err = e.svc.PutObject(ctx, PutInput{Bucket: "dst", Key: "put", Body: bytes.NewReader(data), Size: int64(len(data)),
		Replica: &ReplicaInfo{VersionID: versionid.Format(vids.Now()), ETag: source.ETag, PartsCount: 3}})
	wantErr(t, err, ErrInvalidArgument)
	_, err = e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "dst", Key: "bad", Replica: &ReplicaInfo{VersionID: versionid.Format(vids.Now()), PartsCount: MaxPartNumber + 1}})
	wantErr(t, err, ErrInvalidArgument)
}
