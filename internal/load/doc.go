// Package load is a small S3 load generator: it drives PUT, GET or a mix of
// both against one S3 endpoint at a fixed object size and concurrency for a
// duration or a number of operations, and reports operations and bytes per
// second, latency percentiles and errors.
//
// It is built to measure the server, not itself: it sends requests with
// s3client.Raw (plain net/http, signed with internal/auth/sigv4) over a
// Transport that keeps one idle connection per worker, and reuses one
// pre-generated body (and its SHA-256, computed once) for every PUT.
// cmd/sosload is its command line; the benchmarks in this package run the
// PUT/GET × 4 KiB/1 MiB × c=1/32 matrix against an in-process `sosd dev`:
//
//	go test ./internal/load -run '^$' -bench Matrix -benchtime 2s
//
// Against a real server (any S3 endpoint; --region is the zone name for sos):
//
//	go build -o /tmp/sosd ./cmd/sosd && go build -o /tmp/sosload ./cmd/sosload
//	SOS_ROOT_API_KEY=EXObench SOS_ROOT_API_SECRET=benchsecret /tmp/sosd dev --data /tmp/sosdata &
//	/tmp/sosload --endpoint http://127.0.0.1:9001 --region ch-dk-2 --key EXObench --secret benchsecret \
//	    --bucket bench --op put --size 4KiB --concurrency 32 --duration 10s [-O json]
package load
