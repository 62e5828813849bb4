package pebblemeta

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"sos/internal/meta"
)

func benchVersion(key string, stamp uint64, inline []byte) meta.Version {
	return meta.Version{
		Bucket: "bench", Key: key, VersionID: fmt.Sprintf("%016x", stamp), Stamp: stamp,
		LastModified: time.Unix(1700000000, 123456000).UTC(), Size: int64(len(inline)),
		ETag:   "9e107d9d372bb6826bd81d3542a419d6",
		Attrs:  meta.Attrs{ContentType: "image/jpeg", UserMeta: map[string]string{"camera": "x100"}},
		Tags:   map[string]string{"env": "prod"},
		Inline: inline, ReplicationStatus: meta.ReplPending,
		ReplTargets: []meta.ReplTarget{{RuleID: "rule-1", DestBucket: "dst", Status: meta.ReplPending}},
	}
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkUpdate measures one durable Update that writes one version with
// 4 KiB inline data, from 1 goroutine and from 32 goroutines (which share
// WAL fsyncs).
func BenchmarkUpdate(b *testing.B) {
	data := make([]byte, 4096)
	put := func(s *Store, n uint64) error {
		return s.Update(context.Background(), func(tx meta.Tx) error {
			return tx.PutVersion(context.Background(), benchVersion(fmt.Sprintf("obj/%09d", n), n, data))
		})
	}
	b.Run("goroutines=1", func(b *testing.B) {
		s := benchStore(b)
		b.SetBytes(int64(len(data)))
		var n uint64
		for b.Loop() {
			n++
			if err := put(s, n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("goroutines=32", func(b *testing.B) {
		s := benchStore(b)
		b.SetBytes(int64(len(data)))
		b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		var n atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := put(s, n.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// fill writes keys objects with versions versions each (the newest has
// 1 KiB inline data).
func fill(b *testing.B, s *Store, keys, versions int) {
	b.Helper()
	data := make([]byte, 1024)
	const perTx = 500
	for i := 0; i < keys; i += perTx {
		err := s.Update(context.Background(), func(tx meta.Tx) error {
			for k := i; k < min(i+perTx, keys); k++ {
				for v := range versions {
					var inline []byte
					if v == versions-1 {
						inline = data
					}
					if err := tx.PutVersion(context.Background(), benchVersion(fmt.Sprintf("obj/%09d", k), uint64(k*versions+v+1), inline)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVersion measures point lookups among 10k keys of 3 versions.
func BenchmarkVersion(b *testing.B) {
	const keys, versions = 10000, 3
	s := benchStore(b)
	fill(b, s, keys, versions)
	ctx := context.Background()
	b.Run("byID", func(b *testing.B) {
		i := 0
		for b.Loop() {
			k := (i * 7919) % keys
			i++
			stamp := uint64(k*versions + 1)
			if _, err := s.Version(ctx, "bench", fmt.Sprintf("obj/%09d", k), fmt.Sprintf("%016x", stamp)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("newest", func(b *testing.B) {
		i := 0
		for b.Loop() {
			k := (i * 7919) % keys
			i++
			v, err := s.Version(ctx, "bench", fmt.Sprintf("obj/%09d", k), "")
			if err != nil || len(v.Inline) != 1024 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScanLatest measures a LatestOnly listing of 10k keys that have
// 3 versions each (one scan per op).
func BenchmarkScanLatest(b *testing.B) {
	const keys, versions = 10000, 3
	s := benchStore(b)
	fill(b, s, keys, versions)
	ctx := context.Background()
	for b.Loop() {
		n := 0
		err := s.ScanVersions(ctx, meta.ScanOptions{Bucket: "bench", LatestOnly: true}, func(meta.Version) error {
			n++
			return nil
		})
		if err != nil || n != keys {
			b.Fatalf("scan: %d keys, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*keys), "ns/key")
}

// BenchmarkCodec compares the binary record encoding with encoding/json
// for a typical version record (without inline data).
func BenchmarkCodec(b *testing.B) {
	v := benchVersion("photos/2024/holiday/IMG_0001.jpg", 1<<40, nil)
	v.Checksums = map[string]string{"CRC32C": "yZRlqg=="}
	b.Run("binary/encode", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = encodeVersion(buf[:0], &v)
		}
		b.ReportMetric(float64(len(buf)), "bytes/record")
	})
	b.Run("binary/decode", func(b *testing.B) {
		enc := encodeVersion(nil, &v)
		for b.Loop() {
			var out meta.Version
			if _, err := decodeVersion(&out, enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/encode", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = json.Marshal(&v)
		}
		b.ReportMetric(float64(len(buf)), "bytes/record")
	})
	b.Run("json/decode", func(b *testing.B) {
		enc, _ := json.Marshal(&v)
		for b.Loop() {
			var out meta.Version
			if err := json.Unmarshal(enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
