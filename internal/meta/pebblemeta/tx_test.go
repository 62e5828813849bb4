package pebblemeta

import (
	"context"
	"errors"
	"testing"

	"sos/internal/meta"
)

// TestReplaceWithinOneTx replaces versions in the patterns the object
// service uses (read, delete, put; read, put; put, put) inside single
// transactions, where the transaction's remembered index stamps decide
// which records to remove, and checks that exactly the last write of each
// version is left.
func TestReplaceWithinOneTx(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	put := func(tx meta.Tx, key, vid string, stamp uint64, data string) error {
		return tx.PutVersion(ctx, meta.Version{Bucket: "b", Key: key, VersionID: vid, Stamp: stamp, Size: int64(len(data)), Inline: []byte(data)})
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Update(ctx, func(tx meta.Tx) error {
		for _, k := range []string{"a", "b", "c", "d"} {
			if err := put(tx, k, meta.NullVersionID, 10, k+"1"); err != nil {
				return err
			}
		}
		return nil
	}))
	must(s.Update(ctx, func(tx meta.Tx) error {
		// a: read, delete, put with a new stamp.
		if _, err := tx.Version(ctx, "b", "a", meta.NullVersionID); err != nil {
			return err
		}
		if err := tx.DeleteVersion(ctx, "b", "a", meta.NullVersionID); err != nil {
			return err
		}
		if err := tx.DeleteVersion(ctx, "b", "a", meta.NullVersionID); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("second delete in the same tx: %v, want ErrNotFound", err)
		}
		if err := put(tx, "a", meta.NullVersionID, 20, "a2"); err != nil {
			return err
		}
		// b: read, put with a new stamp (the put replaces).
		if _, err := tx.Version(ctx, "b", "b", meta.NullVersionID); err != nil {
			return err
		}
		if err := put(tx, "b", meta.NullVersionID, 20, "b2"); err != nil {
			return err
		}
		// c: put twice with new stamps, unread.
		if err := put(tx, "c", meta.NullVersionID, 20, "c2"); err != nil {
			return err
		}
		if err := put(tx, "c", meta.NullVersionID, 30, "c3"); err != nil {
			return err
		}
		// d: put, then delete in the same tx.
		if err := put(tx, "d", meta.NullVersionID, 20, "d2"); err != nil {
			return err
		}
		if err := tx.DeleteVersion(ctx, "b", "d", meta.NullVersionID); err != nil {
			return err
		}
		// e: missing, then put, then read back within the tx.
		if _, err := tx.Version(ctx, "b", "e", "v1"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("missing version: %v", err)
		}
		if err := put(tx, "e", "v1", 5, "e1"); err != nil {
			return err
		}
		if v, err := tx.Version(ctx, "b", "e", "v1"); err != nil || string(v.Inline) != "e1" {
			t.Errorf("read back in tx: %q, %v", v.Inline, err)
		}
		return nil
	}))
	var got []string
	must(s.ScanVersions(ctx, meta.ScanOptions{Bucket: "b", WithData: true}, func(v meta.Version) error {
		got = append(got, v.Key+"@"+string(v.Inline))
		return nil
	}))
	want := []string{"a@a2", "b@b2", "c@c3", "e@e1"}
	if len(got) != len(want) {
		t.Fatalf("records %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("records %q, want %q", got, want)
		}
	}
	if _, err := s.Version(ctx, "b", "d", meta.NullVersionID); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("deleted d: %v", err)
	}
}
