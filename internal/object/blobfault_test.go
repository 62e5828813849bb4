package object

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"sos/internal/blob/blobtest"
	"sos/internal/meta"
)

// A failing blob write fails the write with its error and commits nothing:
// no version, no part, no blob; the next write goes through.
func TestBlobFailureLeavesNothing(t *testing.T) {
	var faulty *blobtest.Faulty
	e := newEnv(t, func(o *Options) { faulty = blobtest.NewFaulty(o.Blobs); o.Blobs = faulty })
	e.bucket(t, "bkt", meta.Enabled)
	big := pattern(200<<10, 3)
	base := e.put(t, "bkt", "docs/base", string(big))
	id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "docs/mp"})
	must(t, err)
	boom := errors.New("injected blob write failure")
	ops := []struct {
		name string
		fn   func() error
	}{
		{"put blob", func() error {
			_, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "docs/base", Body: bytes.NewReader(big), Size: int64(len(big))})
			return err
		}},
		{"upload part", func() error {
			_, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "docs/mp", UploadID: id, PartNumber: 1, Body: bytes.NewReader(big), Size: int64(len(big))})
			return err
		}},
	}
	for _, op := range ops {
		blobs := e.blobIDs(t)
		vers := e.versions(t, "bkt")
		faulty.FailNth(1, boom)
		err := op.fn()
		faulty.Heal()
		if !errors.Is(err, boom) {
			t.Fatalf("%s: err = %v, want the injected failure", op.name, err)
		}
		if got := e.blobIDs(t); fmt.Sprint(got) != fmt.Sprint(blobs) {
			t.Fatalf("%s: blobs %v -> %v", op.name, blobs, got)
		}
		if got := e.versions(t, "bkt"); fmt.Sprint(got) != fmt.Sprint(vers) {
			t.Fatalf("%s: versions changed", op.name)
		}
		if err := op.fn(); err != nil {
			t.Fatalf("%s after Heal: %v", op.name, err)
		}
	}
	lp, err := e.svc.ListParts(ctx, ListPartsInput{Bucket: "bkt", Key: "docs/mp", UploadID: id})
	must(t, err)
	if len(lp.Parts) != 1 {
		t.Fatalf("parts %+v, want the one that went through", lp.Parts)
	}
	if got := e.versions(t, "bkt"); len(got) != 2 || got[1].VersionID != base.VersionID {
		t.Fatalf("versions %+v, want the base and the one that went through", got)
	}
}

// A commit that fails with meta.ErrStoreFailed may have taken effect: the
// write fails, but its blob stays, so that a version or part that did get
// committed reads whole (before, the blob was deleted under it).
func TestStoreFailedKeepsBlob(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Enabled)
	big := pattern(200<<10, 5)
	e.put(t, "bkt", "src", string(big))
	id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "bkt", Key: "mp"})
	must(t, err)
	failed := fmt.Errorf("%w: injected: no space left on device", meta.ErrStoreFailed)
	ops := []struct {
		name  string
		fn    func() error
		check func() error
	}{
		{"put", func() error {
			_, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "put", Body: bytes.NewReader(big), Size: int64(len(big))})
			return err
		}, func() error {
			got, err := e.get(t, "bkt", "put", "")
			if err == nil && got != string(big) {
				err = errors.New("wrong data")
			}
			return err
		}},
		{"copy", func() error {
			_, err := e.svc.CopyObject(ctx, CopyInput{SrcBucket: "bkt", SrcKey: "src", Bucket: "bkt", Key: "copy"})
			return err
		}, func() error {
			got, err := e.get(t, "bkt", "copy", "")
			if err == nil && got != string(big) {
				err = errors.New("wrong data")
			}
			return err
		}},
		{"upload part", func() error {
			_, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "bkt", Key: "mp", UploadID: id, PartNumber: 1, Body: bytes.NewReader(big), Size: int64(len(big))})
			return err
		}, func() error {
			_, err := e.svc.CompleteUpload(ctx, "bkt", "mp", id, []CompletePart{{Number: 1, ETag: md5hex(big)}})
			if err != nil {
				return err
			}
			got, err := e.get(t, "bkt", "mp", "")
			if err == nil && got != string(big) {
				err = errors.New("wrong data")
			}
			return err
		}},
	}
	for _, op := range ops {
		e.faulty.CommitThenFail(1, failed)
		err := op.fn()
		e.faulty.Heal()
		if !errors.Is(err, meta.ErrStoreFailed) {
			t.Fatalf("%s: err = %v, want meta.ErrStoreFailed", op.name, err)
		}
		if err := op.check(); err != nil {
			t.Fatalf("%s: the committed write does not read whole: %v", op.name, err)
		}
	}
	// A failed commit that did not take effect leaves an orphan, which the
	// next start-up collects.
	before := e.blobIDs(t)
	e.faulty.FailNth(1, failed)
	_, err = e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "lost", Body: bytes.NewReader(big), Size: int64(len(big))})
	e.faulty.Heal()
	if !errors.Is(err, meta.ErrStoreFailed) {
		t.Fatalf("put: err = %v", err)
	}
	if got := e.blobIDs(t); len(got) != len(before)+1 {
		t.Fatalf("blobs %d -> %d, want the orphan kept", len(before), len(got))
	}
	e.reopen(t)
	if got := e.blobIDs(t); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("after reopen: blobs %v, want %v", got, before)
	}
}
