package load_test

import (
	"context"
	"fmt"
	"testing"

	"sos/internal/load"
)

// BenchmarkMatrix runs PUT and GET of 4 KiB and 1 MiB objects at
// concurrency 1 and 32 against an in-process `sosd dev` (zone ch-dk-2 on a
// loopback port, data in a temp folder). b.N is the number of operations of
// each cell, measured after the cell's bucket and GET objects are ready;
// ns/op is wall time per operation across all workers, and the custom
// metrics are the ones to read. Client and server share the machine.
//
//	go test ./internal/load -run '^$' -bench Matrix -benchtime 2s
func BenchmarkMatrix(b *testing.B) {
	d := startDev(b)
	for _, op := range []load.Op{load.OpPut, load.OpGet} {
		for _, size := range []int64{4 << 10, 1 << 20} {
			for _, c := range []int{1, 32} {
				o := devOptions(d)
				o.Bucket = "bench"
				o.Op, o.Size, o.Concurrency = op, size, c
				r, err := load.Prepare(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(fmt.Sprintf("%s/%s/c=%d", op, load.FormatSize(size), c), func(b *testing.B) {
					res, err := r.Measure(context.Background(), 0, int64(b.N))
					if err != nil {
						b.Fatal(err)
					}
					if res.Total.Errors > 0 {
						b.Fatalf("%d errors, first: %s", res.Total.Errors, res.FirstError)
					}
					b.ReportMetric(res.Total.OpsPerSec, "ops/s")
					b.ReportMetric(res.Total.MBPerSec, "MB/s")
					b.ReportMetric(float64(res.Total.P50.Microseconds()), "p50-µs")
					b.ReportMetric(float64(res.Total.P99.Microseconds()), "p99-µs")
				})
				r.Close()
			}
		}
	}
}
