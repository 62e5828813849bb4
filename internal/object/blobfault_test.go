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
