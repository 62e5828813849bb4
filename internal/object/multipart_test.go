package object

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"strings"
	"testing"

	"sos/internal/meta"
)

func TestMultipartRules(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Enabled)
	p1 := pattern(MinPartSize, 1)
	p2 := pattern(MinPartSize+7, 2)
	p3 := pattern(1000, 3)
	small := pattern(100, 4)

	start := func(t *testing.T, parts ...[]byte) (string, []PartInfo) {
		t.Helper()
		id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "mp", Attrs: meta.Attrs{ContentType: "x/y"}, Tags: map[string]string{"a": "b"}})
		must(t, err)
		var infos []PartInfo
		for i, p := range parts {
			sum := md5.Sum(p)
			pi, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "mp", UploadID: id, PartNumber: i + 1, Body: bytes.NewReader(p), Size: int64(len(p)), ContentMD5: sum[:]})
			must(t, err)
			if pi.ETag != md5hex(p) || pi.Size != int64(len(p)) {
				t.Fatalf("part %d: %+v", i+1, pi)
			}
			infos = append(infos, pi)
		}
		return id, infos
	}
	q := func(s string) string { return `"` + s + `"` }

	for _, c := range []struct {
		name  string
		parts [][]byte
		list  func(ps []PartInfo) []CompletePart
		want  error
	}{
		{"no parts", [][]byte{p1}, func(ps []PartInfo) []CompletePart { return nil }, ErrMalformedPartList},
		{"descending", [][]byte{p1, p2}, func(ps []PartInfo) []CompletePart { return []CompletePart{{2, ps[1].ETag}, {1, ps[0].ETag}} }, ErrInvalidPartOrder},
		{"duplicate", [][]byte{p1, p2}, func(ps []PartInfo) []CompletePart { return []CompletePart{{1, ps[0].ETag}, {1, ps[0].ETag}} }, ErrInvalidPartOrder},
		{"wrong etag", [][]byte{p1, p2}, func(ps []PartInfo) []CompletePart { return []CompletePart{{1, ps[0].ETag}, {2, ps[0].ETag}} }, ErrInvalidPart},
		{"missing part", [][]byte{p1}, func(ps []PartInfo) []CompletePart { return []CompletePart{{1, ps[0].ETag}, {2, ps[0].ETag}} }, ErrInvalidPart},
		{"too small", [][]byte{small, p2}, func(ps []PartInfo) []CompletePart { return []CompletePart{{1, ps[0].ETag}, {2, ps[1].ETag}} }, ErrEntityTooSmall},
		{"ok, skipping a part", [][]byte{p1, small, p2, p3}, func(ps []PartInfo) []CompletePart {
			return []CompletePart{{1, q(ps[0].ETag)}, {3, ps[2].ETag}, {4, q(ps[3].ETag)}}
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			blobsBefore := len(e.blobIDs(t))
			id, ps := start(t, c.parts...)
			oi, err := e.svc.CompleteUpload(ctx, "bkt", "mp", id, c.list(ps))
			wantErr(t, err, c.want)
			if err != nil {
				// The upload is intact after a refused completion.
				lp, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "mp", UploadID: id})
				must(t, err)
				if len(lp.Parts) != len(c.parts) {
					t.Fatalf("parts after failed completion: %d", len(lp.Parts))
				}
				must(t, e.svc.AbortUpload(ctx, "bkt", "mp", id))
				wantErr(t, e.svc.AbortUpload(ctx, "bkt", "mp", id), ErrNoSuchUpload)
				if n := len(e.blobIDs(t)); n != blobsBefore {
					t.Fatalf("abort left blobs: %d -> %d", blobsBefore, n)
				}
				return
			}
			want := append(append(append([]byte(nil), p1...), p2...), p3...)
			h := md5.New()
			for _, p := range [][]byte{p1, p2, p3} {
				s := md5.Sum(p)
				h.Write(s[:])
			}
			if wantETag := fmt.Sprintf("%x-3", h.Sum(nil)); oi.ETag != wantETag || oi.PartsCount != 3 || oi.Size != int64(len(want)) {
				t.Fatalf("completed %+v, want ETag %s", oi, wantETag)
			}
			g, err := e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "mp"})
			must(t, err)
			if got := readAll(t, g.Body); !bytes.Equal(got, want) || g.Info.Attrs.ContentType != "x/y" || g.Info.TagCount != 1 {
				t.Fatalf("read back %d bytes (want %d), info %+v", len(got), len(want), g.Info)
			}
			// Ranges across part boundaries, and parts by number.
			for _, r := range []Range{{First: MinPartSize - 10, Last: MinPartSize + 10}, {First: 0, Last: 0}, {Suffix: 1500}, {First: 2*MinPartSize + 6, Last: -1}} {
				g, err := e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "mp", Range: &r})
				must(t, err)
				got := readAll(t, g.Body)
				if !bytes.Equal(got, want[g.RangeFirst:g.RangeFirst+g.RangeLength]) || int64(len(got)) != g.RangeLength {
					t.Fatalf("range %+v: %d bytes", r, len(got))
				}
			}
			for n, p := range [][]byte{p1, p2, p3} {
				g, err := e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "mp", PartNumber: n + 1})
				must(t, err)
				if got := readAll(t, g.Body); !bytes.Equal(got, p) || g.Info.PartsCount != 3 {
					t.Fatalf("part %d: %d bytes", n+1, len(got))
				}
			}
			_, err = e.svc.GetObject(ctx, GetInput{Bucket: "bkt", Key: "mp", PartNumber: 4})
			wantErr(t, err, ErrInvalidRange)
			// The skipped part's blob is gone, the upload too.
			if n := len(e.blobIDs(t)); n != blobsBefore+3 {
				t.Fatalf("blobs: %d, want %d", n, blobsBefore+3)
			}
			_, err = e.svc.CompleteUpload(ctx, "bkt", "mp", id, c.list(ps))
			wantErr(t, err, ErrNoSuchUpload)
			// Deleting the version deletes its part blobs.
			_, err = e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: "mp", VersionID: oi.VersionID})
			must(t, err)
			if n := len(e.blobIDs(t)); n != blobsBefore {
				t.Fatalf("blobs after delete: %d, want %d", n, blobsBefore)
			}
		})
	}
}

func TestMultipartUploadsAndParts(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Unversioned)
	_, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "nope", Key: "k"})
	wantErr(t, err, ErrNoSuchBucket)
	_, err = e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "k", ChecksumAlgorithm: "MD4"})
	wantErr(t, err, ErrInvalidArgument)
	var ids []string
	for _, k := range []string{"a/1", "a/2", "b", "c/x/y", "b"} {
		id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: k})
		must(t, err)
		ids = append(ids, id)
	}
	_, err = e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "b", UploadID: ids[0], PartNumber: 1, Body: strings.NewReader("x"), Size: 1})
	wantErr(t, err, ErrNoSuchUpload) // upload of another key
	_, err = e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "a/1", UploadID: ids[0], PartNumber: 0, Body: strings.NewReader("x"), Size: 1})
	wantErr(t, err, ErrInvalidArgument)
	_, err = e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "a/1", UploadID: ids[0], PartNumber: 10001, Body: strings.NewReader("x"), Size: 1})
	wantErr(t, err, ErrInvalidArgument)
	bad := make([]byte, 16)
	_, err = e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "a/1", UploadID: ids[0], PartNumber: 1, Body: strings.NewReader("x"), Size: 1, ContentMD5: bad})
	wantErr(t, err, ErrBadDigest)
	for n := 1; n <= 5; n++ {
		_, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "a/1", UploadID: ids[0], PartNumber: n, Body: strings.NewReader("x"), Size: 1})
		must(t, err)
	}
	// Re-uploading a part replaces it (and frees the old blob).
	nBlobs := len(e.blobIDs(t))
	pi, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "a/1", UploadID: ids[0], PartNumber: 2, Body: strings.NewReader("yy"), Size: 2})
	must(t, err)
	if len(e.blobIDs(t)) != nBlobs || pi.Size != 2 {
		t.Fatalf("replacing a part: blobs %d -> %d", nBlobs, len(e.blobIDs(t)))
	}
	lp, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "a/1", UploadID: ids[0], PartNumberMarker: 1, MaxParts: 2})
	must(t, err)
	if len(lp.Parts) != 2 || lp.Parts[0].Number != 2 || lp.Parts[0].Size != 2 || !lp.IsTruncated || lp.NextPartNumberMarker != 3 {
		t.Fatalf("ListParts %+v", lp)
	}
	_, err = e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "a/1", UploadID: "nope"})
	wantErr(t, err, ErrNoSuchUpload)

	lu, err := e.svc.ListUploads(ctx, ListUploadsInput{Bucket: "bkt"})
	must(t, err)
	var keys []string
	for _, u := range lu.Uploads {
		keys = append(keys, u.Key)
	}
	if strings.Join(keys, ",") != "a/1,a/2,b,b,c/x/y" {
		t.Fatalf("uploads %v", keys)
	}
	lu, err = e.svc.ListUploads(ctx, ListUploadsInput{Bucket: "bkt", Delimiter: "/"})
	must(t, err)
	if len(lu.Uploads) != 2 || strings.Join(lu.CommonPrefixes, ",") != "a/,c/" {
		t.Fatalf("uploads with delimiter %+v", lu)
	}
	lu, err = e.svc.ListUploads(ctx, ListUploadsInput{Bucket: "bkt", MaxUploads: 2})
	must(t, err)
	if len(lu.Uploads) != 2 || !lu.IsTruncated || lu.NextKeyMarker != "a/2" {
		t.Fatalf("page 1 %+v", lu)
	}
	lu, err = e.svc.ListUploads(ctx, ListUploadsInput{Bucket: "bkt", KeyMarker: "b", UploadIDMarker: lu.Uploads[0].UploadID})
	must(t, err)
	if len(lu.Uploads) != 3 || lu.Uploads[0].Key != "b" {
		// ids sort by creation: both "b" uploads are after a/1's ID.
		t.Fatalf("after marker %+v", lu)
	}
	lu, err = e.svc.ListUploads(ctx, ListUploadsInput{Bucket: "bkt", KeyMarker: "b"})
	must(t, err)
	if len(lu.Uploads) != 1 || lu.Uploads[0].Key != "c/x/y" {
		t.Fatalf("after key marker %+v", lu)
	}
}

func TestUploadPartCopy(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Enabled)
	src := pattern(MinPartSize+100, 5)
	v1, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "src", Body: bytes.NewReader(src), Size: int64(len(src))})
	must(t, err)
	e.put(t, "bkt", "src", "newer")
	id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "dst"})
	must(t, err)
	p1, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "dst", UploadID: id, PartNumber: 1,
		CopySource: &CopyInput{SrcBucket: "bkt", SrcKey: "src", SrcVersionID: v1.VersionID}, CopyRange: &Range{First: 0, Last: MinPartSize - 1}})
	must(t, err)
	p2, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "dst", UploadID: id, PartNumber: 2,
		CopySource: &CopyInput{SrcBucket: "bkt", SrcKey: "src", SrcVersionID: v1.VersionID}, CopyRange: &Range{First: MinPartSize, Last: -1}})
	must(t, err)
	p3, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "dst", UploadID: id, PartNumber: 3,
		CopySource: &CopyInput{SrcBucket: "bkt", SrcKey: "src"}})
	must(t, err)
	_, err = e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "dst", UploadID: id, PartNumber: 4,
		CopySource: &CopyInput{SrcBucket: "bkt", SrcKey: "src"}, CopyRange: &Range{First: 100, Last: 200}})
	wantErr(t, err, ErrInvalidRange)
	// A range that starts inside the source but ends past it is refused
	// too, not clipped.
	_, err = e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "dst", UploadID: id, PartNumber: 4,
		CopySource: &CopyInput{SrcBucket: "bkt", SrcKey: "src"}, CopyRange: &Range{First: 0, Last: 5}})
	wantErr(t, err, ErrInvalidRange)
	if p1.ETag != md5hex(src[:MinPartSize]) || p2.Size != 100 {
		t.Fatalf("copied parts %+v %+v", p1, p2)
	}
	_, err = e.svc.CompleteUpload(ctx, "bkt", "dst", id, []CompletePart{{1, p1.ETag}, {2, p2.ETag}, {3, p3.ETag}})
	wantErr(t, err, ErrEntityTooSmall)
	_, err = e.svc.CompleteUpload(ctx, "bkt", "dst", id, []CompletePart{{1, p1.ETag}, {2, p2.ETag}})
	must(t, err)
	if got := e.mustGet(t, "bkt", "dst", ""); got != string(src) {
		t.Fatalf("copied object differs (%d bytes)", len(got))
	}
	// OpenVersion streams a multipart version whole.
	v, rc, err := e.svc.OpenVersion(ctx, "bkt", "dst", "")
	must(t, err)
	if got := readAll(t, rc); !bytes.Equal(got, src) || v.PartsCount != 2 {
		t.Fatalf("OpenVersion: %d bytes, %+v", len(got), v.PartsCount)
	}
	// Copy of a multipart object makes a single-part object with the MD5 ETag.
	out, err := e.svc.CopyObject(ctx, CopyInput{SrcBucket: "bkt", SrcKey: "dst", Bucket: "bkt", Key: "flat"})
	must(t, err)
	if out.Info.ETag != md5hex(src) || out.Info.PartsCount != 0 {
		t.Fatalf("flat copy %+v", out.Info)
	}
}
