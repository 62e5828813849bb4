package pebblemeta

import (
	"context"
	"errors"
	"testing"

	"sos/internal/meta"
	"sos/internal/meta/metatest"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{CacheSize: 8 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return openTest(t, t.TempDir()) })
	metatest.RunReopen(t, func(t *testing.T) func() meta.Store {
		dir := t.TempDir()
		return func() meta.Store { return openTest(t, dir) }
	})
}

// TestConformanceFaulty runs the suite through a Faulty that injects
// nothing: the wrapper must be transparent.
func TestConformanceFaulty(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return metatest.NewFaulty(openTest(t, t.TempDir())) })
}

func TestOpenTwiceFails(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	if s2, err := Open(dir, Options{}); err == nil {
		s2.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	if _, err := Open("", Options{}); err == nil {
		t.Fatal("Open of empty dir succeeded")
	}
}

func TestBadInput(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	cases := map[string]func(meta.Tx) error{
		"version without ID": func(tx meta.Tx) error {
			return tx.PutVersion(ctx, meta.Version{Bucket: "b", Key: "k"})
		},
		"version with inline and blob": func(tx meta.Tx) error {
			return tx.PutVersion(ctx, meta.Version{Bucket: "b", Key: "k", VersionID: "v", Inline: []byte("x"), BlobID: "x"})
		},
		"outbox without ID":   func(tx meta.Tx) error { return tx.PutOutbox(ctx, meta.OutboxEntry{}) },
		"bucket without name": func(tx meta.Tx) error { return tx.PutBucket(ctx, meta.Bucket{}) },
		"upload without ID":   func(tx meta.Tx) error { return tx.PutUpload(ctx, meta.Upload{Bucket: "b"}) },
		"part without upload": func(tx meta.Tx) error { return tx.PutPart(ctx, meta.Part{Bucket: "b", Number: 1}) },
	}
	for name, fn := range cases {
		if err := s.Update(ctx, fn); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTxAfterUpdate(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	var kept meta.Tx
	if err := s.Update(ctx, func(tx meta.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := kept.PutBucket(ctx, meta.Bucket{Name: "x"}); !errors.Is(err, errTxDone) {
		t.Errorf("write after Update: %v", err)
	}
	if _, err := kept.Bucket(ctx, "x"); !errors.Is(err, errTxDone) {
		t.Errorf("read after Update: %v", err)
	}
}
