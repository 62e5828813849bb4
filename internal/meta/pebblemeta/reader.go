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

var errTxDone = errors.New("pebblemeta: transaction used after Update returned")

// ctxCheckEvery is how many records a scan yields between ctx checks.
const ctxCheckEvery = 64

// reader implements meta.Reader on a *pebble.DB or an indexed *pebble.Batch.
type reader struct {
	r      pebble.Reader
	tx     *tx          // set when reading through a transaction
	failed func() error // set when reading through the Store: Store.Err
}

func (r reader) check(ctx context.Context) error {
	if r.tx != nil && r.tx.done {
		return errTxDone
	}
	if r.failed != nil {
		if err := r.failed(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// get returns a copy of the value of key, or nil and false when absent.
func (r reader) get(key []byte) ([]byte, bool, error) {
	v, closer, err := r.r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pebblemeta: get: %w", err)
	}
	out := append([]byte(nil), v...)
	if err := closer.Close(); err != nil {
		return nil, false, fmt.Errorf("pebblemeta: get: %w", err)
	}
	return out, true, nil
}

// scan iterates the keys in [lower, upper) starting at start (>= lower) and
// calls fn with each key and value (valid during the call only). fn returns
// the key to seek to next, or nil to step to the next key. It returns fn's
// error, with ErrStop turned into nil.
func (r reader) scan(ctx context.Context, lower, upper, start []byte, fn func(k, v []byte) ([]byte, error)) (err error) {
	it, err := r.r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("pebblemeta: iterator: %w", err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pebblemeta: iterator: %w", cerr)
		}
	}()
	if start == nil {
		start = lower
	}
	n := 0
	for valid := it.SeekGE(start); valid; n++ {
		if n%ctxCheckEvery == ctxCheckEvery-1 {
			if err := r.check(ctx); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("pebblemeta: iterator: %w", err)
		}
		next, err := fn(it.Key(), v)
		if errors.Is(err, meta.ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
		if next != nil {
			valid = it.SeekGE(next)
		} else {
			valid = it.Next()
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("pebblemeta: iterator: %w", err)
	}
	return nil
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, meta.ErrNotFound) }

// Bucket implements meta.Reader.
func (r reader) Bucket(ctx context.Context, name string) (meta.Bucket, error) {
	if err := r.check(ctx); err != nil {
		return meta.Bucket{}, err
	}
	v, ok, err := r.get(bucketKey(name))
	if err != nil {
		return meta.Bucket{}, err
	}
	if !ok {
		return meta.Bucket{}, notFound("bucket " + name)
	}
	return decodeBucket(name, v)
}

// Buckets implements meta.Reader.
func (r reader) Buckets(ctx context.Context) ([]meta.Bucket, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	var out []meta.Bucket
	err := r.scan(ctx, []byte{kindBucket}, []byte{kindBucket + 1}, nil, func(k, v []byte) ([]byte, error) {
		name, rest, err := readComponent(k[1:])
		if err != nil || len(rest) != 0 {
			return nil, errBadKey
		}
		b, err := decodeBucket(name, v)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		return nil, nil
	})
	return out, err
}

// loadVersion decodes the version stored under version key k (value val)
// in bucket and loads its inline data when withData. keyEnd is the length
// of k's prefix shared by all versions of the same object key.
func (r reader) loadVersion(bucket string, bucketPrefixLen int, k, val []byte, withData bool) (v meta.Version, keyEnd int, err error) {
	key, stamp, vid, keyEnd, err := parseVersionKey(k, bucketPrefixLen)
	if err != nil {
		return meta.Version{}, 0, err
	}
	v = meta.Version{Bucket: bucket, Key: key, VersionID: vid, Stamp: stamp}
	hasInline, err := decodeVersion(&v, val)
	if err != nil {
		return meta.Version{}, 0, fmt.Errorf("version %q %q: %w", key, vid, err)
	}
	if withData && hasInline {
		idx, ok, err := r.get(versionIdxKey(bucket, key, vid))
		if err != nil {
			return meta.Version{}, 0, err
		}
		if !ok || len(idx) < 8 {
			return meta.Version{}, 0, fmt.Errorf("version %q %q: %w", key, vid, errCorrupt)
		}
		v.Inline = idx[8:]
	}
	return v, keyEnd, nil
}

// Version implements meta.Reader.
func (r reader) Version(ctx context.Context, bucket, key, versionID string) (meta.Version, error) {
	if err := r.check(ctx); err != nil {
		return meta.Version{}, err
	}
	bucketPrefixLen := 1 + len(appendComponent(nil, bucket))
	if versionID == "" {
		p := versionKeyPrefix(bucket, key)
		var out meta.Version
		found := false
		err := r.scan(ctx, p, componentEnd(p), nil, func(k, val []byte) ([]byte, error) {
			v, _, err := r.loadVersion(bucket, bucketPrefixLen, k, val, true)
			if err != nil {
				return nil, err
			}
			out, found = v, true
			return nil, meta.ErrStop
		})
		if err != nil {
			return meta.Version{}, err
		}
		if !found {
			return meta.Version{}, notFound(fmt.Sprintf("object %s/%s", bucket, key))
		}
		return out, nil
	}
	ik := versionIdxKey(bucket, key, versionID)
	idx, ok, err := r.get(ik)
	if err != nil {
		return meta.Version{}, err
	}
	if !ok {
		if r.tx != nil {
			r.tx.noteStamp(ik, 0, false)
		}
		return meta.Version{}, notFound(fmt.Sprintf("version %s/%s?versionId=%s", bucket, key, versionID))
	}
	if len(idx) < 8 {
		return meta.Version{}, errCorrupt
	}
	stamp := binary.BigEndian.Uint64(idx)
	if r.tx != nil {
		r.tx.noteStamp(ik, stamp, true)
	}
	val, ok, err := r.get(versionKey(bucket, key, stamp, versionID))
	if err != nil {
		return meta.Version{}, err
	}
	if !ok {
		return meta.Version{}, fmt.Errorf("version %q %q: index without record: %w", key, versionID, errCorrupt)
	}
	v := meta.Version{Bucket: bucket, Key: key, VersionID: versionID, Stamp: stamp}
	hasInline, err := decodeVersion(&v, val)
	if err != nil {
		return meta.Version{}, err
	}
	if hasInline {
		v.Inline = idx[8:]
	}
	return v, nil
}

// ScanVersions implements meta.Reader. With LatestOnly, the older versions
// of each key are skipped with one seek. With LatestOnly and AfterStamp, the
// newest version of StartKey is yielded only when its Stamp < AfterStamp
// (older versions are never yielded by a LatestOnly scan).
func (r reader) ScanVersions(ctx context.Context, opts meta.ScanOptions, fn func(meta.Version) error) error {
	if err := r.check(ctx); err != nil {
		return err
	}
	base := appendComponent([]byte{kindVersion}, opts.Bucket)
	lower := appendEscaped(append([]byte(nil), base...), opts.Prefix)
	upper := prefixEnd(lower)
	start := lower
	if opts.StartKey != "" {
		sk := versionKeyPrefix(opts.Bucket, opts.StartKey)
		if opts.AfterStamp != 0 && !opts.LatestOnly {
			sk = appendUint64(sk, ^(opts.AfterStamp - 1))
		}
		if bytes.Compare(sk, start) > 0 {
			start = sk
		}
	}
	return r.scan(ctx, lower, upper, start, func(k, val []byte) ([]byte, error) {
		v, keyEnd, err := r.loadVersion(opts.Bucket, len(base), k, val, opts.WithData)
		if err != nil {
			return nil, err
		}
		var next []byte
		if opts.LatestOnly {
			next = componentEnd(k[:keyEnd])
			if opts.StartKey != "" && opts.AfterStamp != 0 && v.Key == opts.StartKey && v.Stamp >= opts.AfterStamp {
				return next, nil
			}
		}
		return next, fn(v)
	})
}

// Upload implements meta.Reader.
func (r reader) Upload(ctx context.Context, bucket, uploadID string) (meta.Upload, error) {
	if err := r.check(ctx); err != nil {
		return meta.Upload{}, err
	}
	v, ok, err := r.get(uploadKey(bucket, uploadID))
	if err != nil {
		return meta.Upload{}, err
	}
	if !ok {
		return meta.Upload{}, notFound(fmt.Sprintf("upload %s in bucket %s", uploadID, bucket))
	}
	return decodeUpload(bucket, uploadID, v)
}

// ScanUploads implements meta.Reader.
func (r reader) ScanUploads(ctx context.Context, bucket string, fn func(meta.Upload) error) error {
	if err := r.check(ctx); err != nil {
		return err
	}
	p := uploadIdxPrefix(bucket)
	return r.scan(ctx, p, componentEnd(p), nil, func(k, _ []byte) ([]byte, error) {
		id, err := parseUploadIdxKey(k, len(p))
		if err != nil {
			return nil, err
		}
		v, ok, err := r.get(uploadKey(bucket, id))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("upload %q: index without record: %w", id, errCorrupt)
		}
		u, err := decodeUpload(bucket, id, v)
		if err != nil {
			return nil, err
		}
		return nil, fn(u)
	})
}

// Parts implements meta.Reader.
func (r reader) Parts(ctx context.Context, bucket, uploadID string, withData bool) ([]meta.Part, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	p := partPrefix(kindPart, bucket, uploadID)
	var out []meta.Part
	err := r.scan(ctx, p, componentEnd(p), nil, func(k, val []byte) ([]byte, error) {
		if len(k) != len(p)+8 {
			return nil, errBadKey
		}
		part := meta.Part{Bucket: bucket, UploadID: uploadID, Number: int(int64(binary.BigEndian.Uint64(k[len(p):]) ^ (1 << 63)))}
		hasInline, err := decodePart(&part, val)
		if err != nil {
			return nil, err
		}
		if withData && hasInline {
			data, ok, err := r.get(partKey(kindPartData, bucket, uploadID, part.Number))
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("part %d: data missing: %w", part.Number, errCorrupt)
			}
			part.Inline = data
		}
		out = append(out, part)
		return nil, nil
	})
	return out, err
}

// OutboxEntry implements meta.Reader.
func (r reader) OutboxEntry(ctx context.Context, id string) (meta.OutboxEntry, error) {
	if err := r.check(ctx); err != nil {
		return meta.OutboxEntry{}, err
	}
	v, ok, err := r.get(outboxKey(id))
	if err != nil {
		return meta.OutboxEntry{}, err
	}
	if !ok {
		return meta.OutboxEntry{}, notFound("outbox entry " + id)
	}
	return decodeOutbox(id, v)
}

// ScanOutbox implements meta.Reader.
func (r reader) ScanOutbox(ctx context.Context, afterID string, fn func(meta.OutboxEntry) error) error {
	if err := r.check(ctx); err != nil {
		return err
	}
	lower := []byte{kindOutbox}
	var start []byte
	if afterID != "" {
		start = componentEnd(outboxKey(afterID))
	}
	return r.scan(ctx, lower, []byte{kindOutbox + 1}, start, func(k, val []byte) ([]byte, error) {
		id, rest, err := readComponent(k[1:])
		if err != nil || len(rest) != 0 {
			return nil, errBadKey
		}
		e, err := decodeOutbox(id, val)
		if err != nil {
			return nil, err
		}
		return nil, fn(e)
	})
}
