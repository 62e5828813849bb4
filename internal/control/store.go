package control

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// Key layout of the control database. Values are JSON except the revision
// (8 bytes big endian) and the temp-credential key (raw bytes).
const (
	prefixRole      = "role/"      // role/<uuid> → roleRecord
	prefixKey       = "key/"       // key/<EXO…> → keyRecord (with its secret)
	prefixOperation = "op/"        // op/<uuid> → Operation
	prefixBucket    = "bucket/"    // bucket/<name> → Bucket
	prefixZoneToken = "zonetoken/" // zonetoken/<zone> → token
	keyRevision     = "meta/revision"
	keyTempKey      = "meta/temp-key"
	keyRootKey      = "meta/root-key" // rootRecord, only when the plane generated the root key
)

// store is the Pebble database behind a Plane.
type store struct {
	db *pebble.DB
}

func openStore(dir string, logger *slog.Logger) (*store, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{logger}})
	if err != nil {
		return nil, fmt.Errorf("control: opening database in %s: %w", dir, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// get returns the value of key, or ok=false when it is absent.
func (s *store) get(key string) ([]byte, bool, error) {
	v, closer, err := s.db.Get([]byte(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("control: reading %s: %w", key, err)
	}
	out := append([]byte(nil), v...)
	if err := closer.Close(); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

func (s *store) getJSON(key string, v any) (bool, error) {
	raw, ok, err := s.get(key)
	if err != nil || !ok {
		return ok, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("control: decoding %s: %w", key, err)
	}
	return true, nil
}

// scan calls fn for every key under prefix, in key order.
func (s *store) scan(prefix string, fn func(key string, value []byte) error) error {
	upper := []byte(prefix)
	upper[len(upper)-1]++
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: upper})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(string(it.Key()), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// writeBatch collects the writes of one change; commit syncs them at once.
type writeBatch struct {
	b   *pebble.Batch
	err error
}

func (s *store) batch() *writeBatch { return &writeBatch{b: s.db.NewBatch()} }

func (w *writeBatch) putJSON(key string, v any) {
	if w.err != nil {
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("control: encoding %s: %w", key, err)
		return
	}
	w.err = w.b.Set([]byte(key), raw, nil)
}

func (w *writeBatch) put(key string, v []byte) {
	if w.err != nil {
		return
	}
	w.err = w.b.Set([]byte(key), v, nil)
}

func (w *writeBatch) putRevision(rev uint64) {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], rev)
	w.put(keyRevision, buf[:])
}

func (w *writeBatch) delete(key string) {
	if w.err != nil {
		return
	}
	w.err = w.b.Delete([]byte(key), nil)
}

func (w *writeBatch) commit() error {
	defer w.b.Close()
	if w.err != nil {
		return w.err
	}
	if err := w.b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("control: committing: %w", err)
	}
	return nil
}

// pebbleLogger sends Pebble's logs to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}
