package object

import (
	"bytes"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"sos/internal/meta"
)

// Benchmarks of the service over Pebble and fsblob on local disk: PUT and
// GET of 4 KiB (inline) and 1 MiB (blob) objects, at parallelism 1 and 32
// (b.SetParallelism on GOMAXPROCS).
func BenchmarkPutObject(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, par := range []int{1, 32} {
			b.Run(fmt.Sprintf("size=%s/par=%d", sizeName(size), par), func(b *testing.B) {
				e := newEnv(b)
				e.bucket(b, "bench", meta.Unversioned)
				data := pattern(size, 1)
				var n atomic.Int64
				b.SetBytes(int64(size))
				b.ResetTimer()
				run(b, par, func() {
					k := fmt.Sprintf("k%d", n.Add(1))
					if _, err := e.svc.PutObject(ctx, PutInput{Bucket: "bench", Key: k, Body: bytes.NewReader(data), Size: int64(size)}); err != nil {
						b.Error(err)
					}
				})
			})
		}
	}
}

func BenchmarkGetObject(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, par := range []int{1, 32} {
			b.Run(fmt.Sprintf("size=%s/par=%d", sizeName(size), par), func(b *testing.B) {
				e := newEnv(b)
				e.bucket(b, "bench", meta.Unversioned)
				data := pattern(size, 1)
				const keys = 64
				for i := 0; i < keys; i++ {
					e.put(b, "bench", fmt.Sprintf("k%d", i), string(data))
				}
				var n atomic.Int64
				b.SetBytes(int64(size))
				b.ResetTimer()
				run(b, par, func() {
					out, err := e.svc.GetObject(ctx, GetInput{Bucket: "bench", Key: fmt.Sprintf("k%d", n.Add(1)%keys)})
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, out.Body)
					out.Body.Close()
				})
			})
		}
	}
}

func run(b *testing.B, par int, fn func()) {
	if par == 1 {
		for b.Loop() {
			fn()
		}
		return
	}
	b.SetParallelism(par)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			fn()
		}
	})
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}
