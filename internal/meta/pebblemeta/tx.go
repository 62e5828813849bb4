package pebblemeta

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"sos/internal/meta"
)

// tx is a meta.Tx on an indexed batch. It is used by one goroutine, inside
// the fn given to Store.Update.
type tx struct {
	reader
	b    *pebble.Batch
	done bool
	// stamps remembers the version index entries this transaction read or
	// wrote, so that replacing a version it just looked up (read, delete,
	// put) reads the index once. Bounded by maxTxStamps.
	stamps []idxStamp
}

// idxStamp is what a transaction knows of one version index key: absent,
// or present with the version's stamp.
type idxStamp struct {
	key     []byte
	stamp   uint64
	present bool
}

// maxTxStamps bounds the index entries a transaction remembers; a larger
// transaction (a multi-delete) reads the rest from the batch.
const maxTxStamps = 16

func (t *tx) knownStamp(ik []byte) (idxStamp, bool) {
	for _, e := range t.stamps {
		if bytes.Equal(e.key, ik) {
			return e, true
		}
	}
	return idxStamp{}, false
}

// noteStamp records the state of index key ik after a read or write in
// this transaction. ik must not be modified afterwards.
func (t *tx) noteStamp(ik []byte, stamp uint64, present bool) {
	for i := range t.stamps {
		if bytes.Equal(t.stamps[i].key, ik) {
			t.stamps[i].stamp, t.stamps[i].present = stamp, present
			return
		}
	}
	if len(t.stamps) < maxTxStamps {
		t.stamps = append(t.stamps, idxStamp{key: ik, stamp: stamp, present: present})
	}
}

// stampOf returns the stamp of the version behind index key ik, from what
// the transaction already knows or from the batch.
func (t *tx) stampOf(ik []byte) (uint64, bool, error) {
	if e, ok := t.knownStamp(ik); ok {
		return e.stamp, e.present, nil
	}
	old, ok, err := t.get(ik)
	if err != nil || !ok {
		return 0, false, err
	}
	if len(old) < 8 {
		return 0, false, errCorrupt
	}
	return binary.BigEndian.Uint64(old), true, nil
}

var _ meta.Tx = (*tx)(nil)

func (t *tx) set(k, v []byte) error {
	if err := t.b.Set(k, v, nil); err != nil {
		return fmt.Errorf("pebblemeta: set: %w", err)
	}
	return nil
}

func (t *tx) del(k []byte) error {
	if err := t.b.Delete(k, nil); err != nil {
		return fmt.Errorf("pebblemeta: delete: %w", err)
	}
	return nil
}

// PutBucket implements meta.Tx.
func (t *tx) PutBucket(ctx context.Context, b meta.Bucket) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if b.Name == "" {
		return errors.New("pebblemeta: bucket without name")
	}
	return t.set(bucketKey(b.Name), encodeBucket(b))
}

// DeleteBucket implements meta.Tx. Deleting a missing bucket is not an
// error.
func (t *tx) DeleteBucket(ctx context.Context, name string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	return t.del(bucketKey(name))
}

// PutVersion implements meta.Tx. Replacing a version whose Stamp changed
// (the null version) removes the old record.
func (t *tx) PutVersion(ctx context.Context, v meta.Version) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if v.VersionID == "" {
		return fmt.Errorf("pebblemeta: version of %s/%s without version ID", v.Bucket, v.Key)
	}
	if v.Inline != nil && v.BlobID != "" {
		return fmt.Errorf("pebblemeta: version %s/%s has both inline data and a blob", v.Bucket, v.Key)
	}
	ik := versionIdxKey(v.Bucket, v.Key, v.VersionID)
	oldStamp, ok, err := t.stampOf(ik)
	if err != nil && !errors.Is(err, errCorrupt) {
		return err
	}
	if ok && oldStamp != v.Stamp {
		if err := t.del(versionKey(v.Bucket, v.Key, oldStamp, v.VersionID)); err != nil {
			return err
		}
	}
	val := encodeVersion(make([]byte, 0, 128), &v)
	if err := t.set(versionKey(v.Bucket, v.Key, v.Stamp, v.VersionID), val); err != nil {
		return err
	}
	idx := make([]byte, 8, 8+len(v.Inline))
	binary.BigEndian.PutUint64(idx, v.Stamp)
	if err := t.set(ik, append(idx, v.Inline...)); err != nil {
		return err
	}
	t.noteStamp(ik, v.Stamp, true)
	return nil
}

// DeleteVersion implements meta.Tx.
func (t *tx) DeleteVersion(ctx context.Context, bucket, key, versionID string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	ik := versionIdxKey(bucket, key, versionID)
	stamp, ok, err := t.stampOf(ik)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(fmt.Sprintf("version %s/%s?versionId=%s", bucket, key, versionID))
	}
	if err := t.del(versionKey(bucket, key, stamp, versionID)); err != nil {
		return err
	}
	if err := t.del(ik); err != nil {
		return err
	}
	t.noteStamp(ik, 0, false)
	return nil
}

func uploadIdxKeyOf(u *meta.Upload) []byte {
	return uploadIdxKey(u.Bucket, u.Key, u.Initiated.Unix(), int32(u.Initiated.Nanosecond()), u.UploadID)
}

// PutUpload implements meta.Tx.
func (t *tx) PutUpload(ctx context.Context, u meta.Upload) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if u.UploadID == "" {
		return fmt.Errorf("pebblemeta: upload of %s/%s without upload ID", u.Bucket, u.Key)
	}
	if old, err := t.Upload(ctx, u.Bucket, u.UploadID); err == nil {
		if err := t.del(uploadIdxKeyOf(&old)); err != nil {
			return err
		}
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	if err := t.set(uploadKey(u.Bucket, u.UploadID), encodeUpload(&u)); err != nil {
		return err
	}
	return t.set(uploadIdxKeyOf(&u), nil)
}

// DeleteUpload implements meta.Tx: it removes the upload and all its parts.
// Deleting a missing upload is not an error (its stray parts, if any, are
// removed all the same).
func (t *tx) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if old, err := t.Upload(ctx, bucket, uploadID); err == nil {
		if err := t.del(uploadIdxKeyOf(&old)); err != nil {
			return err
		}
		if err := t.del(uploadKey(bucket, uploadID)); err != nil {
			return err
		}
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	var keys [][]byte
	for _, kind := range []byte{kindPart, kindPartData} {
		p := partPrefix(kind, bucket, uploadID)
		err := t.scan(ctx, p, componentEnd(p), nil, func(k, _ []byte) ([]byte, error) {
			keys = append(keys, append([]byte(nil), k...))
			return nil, nil
		})
		if err != nil {
			return err
		}
	}
	for _, k := range keys {
		if err := t.del(k); err != nil {
			return err
		}
	}
	return nil
}

// PutPart implements meta.Tx.
func (t *tx) PutPart(ctx context.Context, p meta.Part) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if p.UploadID == "" {
		return errors.New("pebblemeta: part without upload ID")
	}
	if p.Inline != nil && p.BlobID != "" {
		return fmt.Errorf("pebblemeta: part %d has both inline data and a blob", p.Number)
	}
	if err := t.set(partKey(kindPart, p.Bucket, p.UploadID, p.Number), encodePart(&p)); err != nil {
		return err
	}
	dk := partKey(kindPartData, p.Bucket, p.UploadID, p.Number)
	if len(p.Inline) > 0 {
		return t.set(dk, p.Inline)
	}
	return t.del(dk)
}

// PutOutbox implements meta.Tx.
func (t *tx) PutOutbox(ctx context.Context, e meta.OutboxEntry) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if e.ID == "" {
		return errors.New("pebblemeta: outbox entry without ID")
	}
	return t.set(outboxKey(e.ID), encodeOutbox(&e))
}

// DeleteOutbox implements meta.Tx. Deleting a missing entry is not an error.
func (t *tx) DeleteOutbox(ctx context.Context, id string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	return t.del(outboxKey(id))
}
