// Package load is a small S3 load generator: it drives PUT, GET or a mix of
// both against one S3 endpoint at a fixed object size and concurrency for a
// duration or a number of operations, and reports operations and bytes per
// second, latency percentiles and errors.
//
// It is built to measure the server, not itself: it sends requests with
// plain net/http over a Transport that keeps one idle connection per worker,
// reuses one pre-generated body (and its SHA-256, computed once) for every
// PUT, and signs with sigv4.Sign. cmd/sosload is its command line; the
// benchmarks in this package run the PUT/GET × 4 KiB/1 MiB × c=1/32 matrix
// against an in-process `sosd dev`.
package load
