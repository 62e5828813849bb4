package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"sos/internal/auth/sigv4"
	"sos/internal/load"
	"sos/internal/server"
)

// startDev runs an in-process `sosd dev` on free loopback ports in a temp
// folder and returns it; it stops with the test or benchmark.
func startDev(tb testing.TB) *server.Dev {
	tb.Helper()
	ctx := context.Background()
	d, err := server.StartDev(ctx, server.DevOptions{
		DataDir: tb.TempDir(),
		APIAddr: "127.0.0.1:0",
		Zones:   []server.ZoneAddr{{Name: "ch-dk-2", Addr: "127.0.0.1:0"}, {Name: "at-vie-1", Addr: "127.0.0.1:0"}},
		RootKey: "EXOloadtestroot", RootSecret: "load-test-root-secret",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("StartDev: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func devOptions(d *server.Dev) load.Options {
	z := d.Zones[0]
	return load.Options{Endpoint: z.URL, Region: z.Name, AccessKey: d.RootKey, Secret: d.RootSecret}
}

func TestRunAgainstDev(t *testing.T) {
	d := startDev(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		op      load.Op
		size    int64
		payload load.Payload
		c       int
	}{
		{"put-unsigned", load.OpPut, 4 << 10, load.PayloadUnsigned, 4},
		{"put-sha256", load.OpPut, 100 << 10, load.PayloadSHA256, 2},
		{"put-empty", load.OpPut, 0, load.PayloadSHA256, 1},
		{"get", load.OpGet, 70 << 10, load.PayloadUnsigned, 3},
		{"mixed", load.OpMixed, 1 << 10, load.PayloadSHA256, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := devOptions(d)
			o.Bucket = "load-" + tc.name
			o.Op, o.Size, o.Payload, o.Concurrency, o.Ops, o.Keys = tc.op, tc.size, tc.payload, tc.c, 40, 5
			res, err := load.Run(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total.Errors != 0 || res.FirstError != "" {
				t.Fatalf("errors %d: %s", res.Total.Errors, res.FirstError)
			}
			if res.Total.Ops != 40 {
				t.Fatalf("ops = %d, want 40", res.Total.Ops)
			}
			if res.Total.Bytes != 40*tc.size {
				t.Fatalf("bytes = %d, want %d", res.Total.Bytes, 40*tc.size)
			}
			if res.Total.P50 <= 0 || res.Total.P50 > res.Total.P90 || res.Total.P90 > res.Total.P99 || res.Total.P99 > res.Total.Max {
				t.Fatalf("latencies not ordered: %+v", res.Total)
			}
			switch tc.op {
			case load.OpPut:
				if res.Get != nil || res.Put == nil || res.Put.Ops != 40 {
					t.Fatalf("put/get split: put %+v get %+v", res.Put, res.Get)
				}
			case load.OpGet:
				if res.Put != nil || res.Get == nil || res.Get.Ops != 40 {
					t.Fatalf("put/get split: put %+v get %+v", res.Put, res.Get)
				}
			case load.OpMixed:
				if res.Put == nil || res.Get == nil || res.Put.Ops == 0 || res.Get.Ops == 0 || res.Put.Ops+res.Get.Ops != 40 {
					t.Fatalf("put/get split: put %+v get %+v", res.Put, res.Get)
				}
			}
			// Running again against the same bucket finds it already there.
			o.Ops = 2
			if res, err := load.Run(ctx, o); err != nil || res.Total.Errors != 0 {
				t.Fatalf("second run: %v, %+v", err, res)
			}
		})
	}
	// The objects really are there with the right size.
	o := devOptions(d)
	o.Bucket, o.Op, o.Ops, o.Size = "load-check", load.OpPut, 3, 1234
	if _, err := load.Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	usage := listKeys(t, d, "load-check")
	if len(usage) != 3 {
		t.Fatalf("bucket holds %d objects, want 3: %v", len(usage), usage)
	}
	for k, size := range usage {
		if size != "1234" || !strings.HasPrefix(k, "sosload/") {
			t.Fatalf("object %s has size %s", k, size)
		}
	}
}

// listKeys lists a bucket with ListObjectsV2 through sosload's own signing
// path (a GET run would not tell what a PUT run wrote).
func listKeys(t *testing.T, d *server.Dev, bucket string) map[string]string {
	t.Helper()
	out := map[string]string{}
	body := s3Get(t, d, "/"+bucket+"?list-type=2")
	for _, part := range strings.Split(body, "<Contents>")[1:] {
		key := between(part, "<Key>", "</Key>")
		out[key] = between(part, "<Size>", "</Size>")
	}
	return out
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestDuration(t *testing.T) {
	d := startDev(t)
	o := devOptions(d)
	o.Bucket, o.Op, o.Size, o.Concurrency, o.Duration = "load-duration", load.OpPut, 512, 2, 300*time.Millisecond
	res, err := load.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Ops == 0 || res.Total.Errors != 0 || res.Elapsed < 300*time.Millisecond {
		t.Fatalf("%+v", res)
	}
	if res.Total.OpsPerSec <= 0 || res.Total.MBPerSec <= 0 {
		t.Fatalf("rates: %+v", res.Total)
	}
}

func TestErrorsAreCounted(t *testing.T) {
	d := startDev(t)
	ctx := context.Background()
	o := devOptions(d)
	o.Bucket, o.Ops, o.Size = "load-errors", 5, 10
	if _, err := load.Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	// A wrong secret cannot even create the bucket.
	bad := o
	bad.Secret = "wrong"
	if _, err := load.Run(ctx, bad); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: err = %v, want SignatureDoesNotMatch", err)
	}
	// Keys longer than S3's 1024 bytes are refused one by one; the run
	// counts every refusal and keeps the first.
	long := o
	long.Prefix = strings.Repeat("k", 1100)
	res, err := load.Run(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Errors != 5 || res.Total.Ops != 0 || !strings.Contains(res.FirstError, "KeyTooLongError") {
		t.Fatalf("long keys: %+v", res)
	}
}

func TestBadOptions(t *testing.T) {
	good := load.Options{Endpoint: "http://127.0.0.1:1", Region: "r", AccessKey: "k", Secret: "s", Bucket: "b", Ops: 1}
	for name, mod := range map[string]func(*load.Options){
		"no endpoint":      func(o *load.Options) { o.Endpoint = "" },
		"bad endpoint":     func(o *load.Options) { o.Endpoint = "127.0.0.1:9001" },
		"no bucket":        func(o *load.Options) { o.Bucket = "" },
		"slash bucket":     func(o *load.Options) { o.Bucket = "a/b" },
		"negative size":    func(o *load.Options) { o.Size = -1 },
		"both bounds":      func(o *load.Options) { o.Duration = time.Second },
		"no bound":         func(o *load.Options) { o.Ops = 0 },
		"bad op":           func(o *load.Options) { o.Op = "delete" },
		"bad payload":      func(o *load.Options) { o.Payload = "md5" },
		"huge concurrency": func(o *load.Options) { o.Concurrency = 1 << 20 },
		"bad prefix":       func(o *load.Options) { o.Prefix = "a?b" },
	} {
		t.Run(name, func(t *testing.T) {
			o := good
			mod(&o)
			if _, err := load.Run(context.Background(), o); err == nil || !strings.HasPrefix(err.Error(), "load: ") {
				t.Fatalf("err = %v, want a load: error", err)
			}
		})
	}
	// Nothing listens on port 1: a good set of options fails to create the bucket.
	if _, err := load.Run(context.Background(), good); err == nil || !strings.Contains(err.Error(), "creating bucket") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"4KiB": 4096, "1MiB": 1 << 20, "4096": 4096, "64k": 64 << 10, "1.5MB": 1500000,
		"2g": 2 << 30, "0": 0, "10B": 10, " 8 KiB ": 8192, "1kb": 1000,
	} {
		got, err := load.ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "4XB", "-1", "0.5", "1.2.3k", "9999999TB"} {
		if n, err := load.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
	for n, want := range map[int64]string{4096: "4KiB", 1 << 20: "1MiB", 1000: "1000B", 0: "0B", 3 << 30: "3GiB", 1536: "1536B"} {
		if got := load.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestMainJSONAndText(t *testing.T) {
	d := startDev(t)
	z := d.Zones[0]
	base := []string{"--endpoint", z.URL, "--region", z.Name, "--key", d.RootKey, "--secret", d.RootSecret,
		"--bucket", "load-cli", "--size", "2KiB", "--concurrency", "2", "--ops", "10"}
	var out, errOut bytes.Buffer
	if err := load.Main(context.Background(), append(base, "--op", "mixed", "-O", "json", "--payload", "sha256"), &out, &errOut); err != nil {
		t.Fatalf("Main: %v (%s)", err, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, out.String())
	}
	total := got["total"].(map[string]any)
	if got["op"] != "mixed" || got["size"] != float64(2048) || got["size_text"] != "2KiB" || total["ops"] != float64(10) ||
		total["errors"] != float64(0) || got["put"] == nil || got["get"] == nil || got["payload"] != "sha256" {
		t.Fatalf("json output: %s", out.String())
	}
	for _, k := range []string{"ops_per_sec", "mb_per_sec", "p50_ms", "p90_ms", "p99_ms"} {
		if v, ok := total[k].(float64); !ok || v <= 0 {
			t.Fatalf("total.%s = %v in %s", k, total[k], out.String())
		}
	}

	out.Reset()
	if err := load.Main(context.Background(), append(base, "--op", "get"), &out, &errOut); err != nil {
		t.Fatalf("Main: %v", err)
	}
	for _, want := range []string{"get 2KiB c=2", "ops/s", "MB/s", "p50", "p90", "p99", "errors 0"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("text output lacks %q:\n%s", want, out.String())
		}
	}

	for _, args := range [][]string{
		append(base, "--size", "4QB"),
		append(base, "--op", "list"),
		append(base, "-O", "yaml"),
		append(base, "--payload", "crc"),
		append(base, "extra"),
	} {
		if err := load.Main(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("Main(%q) succeeded, want an error", args[len(base):])
		}
	}
	// Failed operations print the result and return ErrOpsFailed.
	out.Reset()
	longKeys := append(base, "--prefix", strings.Repeat("k", 1100))
	err := load.Main(context.Background(), longKeys, &out, &errOut)
	if !errors.Is(err, load.ErrOpsFailed) || !strings.Contains(err.Error(), "10 of 10") {
		t.Fatalf("long keys: err = %v, want ErrOpsFailed", err)
	}
	if !strings.Contains(out.String(), "first error") || !strings.Contains(out.String(), "KeyTooLongError") {
		t.Fatalf("failed ops not shown:\n%s", out.String())
	}
}

// s3Get sends a signed GET for path to zone 0 and returns the body.
func s3Get(t *testing.T, d *server.Dev, path string) string {
	t.Helper()
	z := d.Zones[0]
	r, err := http.NewRequest(http.MethodGet, z.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigv4.Sign(r, sigv4.Credentials{AccessKey: d.RootKey, Secret: d.RootSecret}, sigv4.SignOptions{Region: z.Name}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func TestPrepareMeasureTwice(t *testing.T) {
	d := startDev(t)
	ctx := context.Background()
	o := devOptions(d)
	o.Bucket, o.Op, o.Size, o.Concurrency, o.Keys = "load-twice", load.OpMixed, 300, 3, 4
	r, err := load.Prepare(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Measure(ctx, 0, 0); err == nil {
		t.Fatal("Measure without a bound succeeded")
	}
	if _, err := r.Measure(ctx, time.Second, 5); err == nil {
		t.Fatal("Measure with two bounds succeeded")
	}
	var puts int64
	for range 2 {
		res, err := r.Measure(ctx, 0, 12)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total.Errors != 0 || res.Total.Ops != 12 {
			t.Fatalf("%+v", res)
		}
		puts += res.Put.Ops
	}
	// The 4 GET objects plus every PUT, none overwritten by the second round.
	if got := len(listKeys(t, d, "load-twice")); int64(got) != 4+puts {
		t.Fatalf("bucket holds %d objects, want %d", got, 4+puts)
	}
}
