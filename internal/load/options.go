package load

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Op is the kind of operation a run performs.
type Op string

// The operations Run knows.
const (
	OpPut   Op = "put"   // PUT of new keys
	OpGet   Op = "get"   // GET of keys written before the measured run
	OpMixed Op = "mixed" // half PUT of new keys, half GET, alternating per worker
)

// ParseOp parses "put", "get" or "mixed".
func ParseOp(s string) (Op, error) {
	switch op := Op(strings.ToLower(s)); op {
	case OpPut, OpGet, OpMixed:
		return op, nil
	}
	return "", fmt.Errorf("op %q: want put, get or mixed", s)
}

// Payload says how PUT bodies are signed.
type Payload string

// Payload modes.
const (
	// PayloadUnsigned sends X-Amz-Content-Sha256: UNSIGNED-PAYLOAD.
	PayloadUnsigned Payload = "unsigned"
	// PayloadSHA256 sends the body's hex SHA-256, which the server verifies.
	PayloadSHA256 Payload = "sha256"
)

// ParsePayload parses "unsigned" or "sha256".
func ParsePayload(s string) (Payload, error) {
	switch p := Payload(strings.ToLower(s)); p {
	case PayloadUnsigned, PayloadSHA256:
		return p, nil
	}
	return "", fmt.Errorf("payload %q: want unsigned or sha256", s)
}

// Options configure Run.
type Options struct {
	// Endpoint is the S3 endpoint URL, e.g. http://127.0.0.1:9001. Required.
	Endpoint string
	// Region is the signing region (the sos zone name). Required.
	Region string
	// AccessKey and Secret sign every request. Required.
	AccessKey, Secret string
	// Bucket is created when it does not exist yet. Required.
	Bucket string
	// Size is the object size in bytes (0 is allowed: empty objects).
	Size int64
	// Concurrency is the number of workers, each with its own connection.
	// Default 1.
	Concurrency int
	// Duration bounds the measured run by time. Exactly one of Duration
	// and Ops must be set for Run; Prepare ignores both.
	Duration time.Duration
	// Ops bounds the measured run by the number of operations.
	Ops int64
	// Op is what the run does. Default OpPut.
	Op Op
	// Payload says how PUT bodies are signed. Default PayloadUnsigned.
	Payload Payload
	// Keys is the number of objects GET reads from, written before the
	// measured run. Default max(64, 2×Concurrency).
	Keys int
	// Prefix starts every key. Default "sosload/".
	Prefix string
	// Client sends the requests; nil makes one with NewTransport.
	Client *http.Client
}

// checkBound checks that exactly one of d and ops bounds a run.
func checkBound(d time.Duration, ops int64) error {
	if d < 0 || ops < 0 {
		return errors.New("load: duration and number of operations must be positive")
	}
	if (d > 0) == (ops > 0) {
		return errors.New("load: set exactly one of a duration and a number of operations")
	}
	return nil
}

func (o *Options) normalize() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"endpoint", o.Endpoint}, {"region", o.Region}, {"access key", o.AccessKey},
		{"secret", o.Secret}, {"bucket", o.Bucket},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("load: missing %s", strings.Join(missing, ", "))
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("load: endpoint %q: want http://HOST:PORT or https://HOST:PORT", o.Endpoint)
	}
	o.Endpoint = strings.TrimSuffix(o.Endpoint, "/")
	if strings.ContainsAny(o.Bucket, "/?#% ") {
		return fmt.Errorf("load: bucket %q: not a bucket name", o.Bucket)
	}
	if o.Size < 0 {
		return fmt.Errorf("load: size %d is negative", o.Size)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Concurrency < 0 || o.Concurrency > 10000 {
		return fmt.Errorf("load: concurrency %d: want 1 to 10000", o.Concurrency)
	}
	if err := checkBound(o.Duration, o.Ops); err != nil {
		return err
	}
	if o.Op == "" {
		o.Op = OpPut
	}
	if _, err := ParseOp(string(o.Op)); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if o.Payload == "" {
		o.Payload = PayloadUnsigned
	}
	if _, err := ParsePayload(string(o.Payload)); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if o.Keys < 0 {
		return fmt.Errorf("load: keys %d is negative", o.Keys)
	}
	if o.Keys == 0 {
		o.Keys = max(64, 2*o.Concurrency)
	}
	if o.Prefix == "" {
		o.Prefix = "sosload/"
	}
	if strings.ContainsAny(o.Prefix, "?#%") {
		return fmt.Errorf("load: prefix %q: use letters, digits and - _ . / ~", o.Prefix)
	}
	return nil
}

// ParseSize parses a size such as "4KiB", "1MiB", "4096", "64k" or "1.5MB".
// K/M/G with or without "iB" are powers of 1024; "KB", "MB", "GB" powers of
// 1000.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("size %q: want a number with an optional unit, e.g. 4KiB or 1MiB", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	var mult float64
	switch unit {
	case "", "b":
		mult = 1
	case "k", "ki", "kib":
		mult = 1 << 10
	case "m", "mi", "mib":
		mult = 1 << 20
	case "g", "gi", "gib":
		mult = 1 << 30
	case "kb":
		mult = 1e3
	case "mb":
		mult = 1e6
	case "gb":
		mult = 1e9
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB, GiB, KB, MB or GB)", s, unit)
	}
	n := v * mult
	if n > 5<<40 {
		return 0, fmt.Errorf("size %q is larger than 5 TiB", s)
	}
	if n != float64(int64(n)) {
		return 0, fmt.Errorf("size %q is not a whole number of bytes", s)
	}
	return int64(n), nil
}

// FormatSize writes n bytes in the largest binary unit that divides it,
// e.g. 4096 as "4KiB".
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		v    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatInt(n/u.v, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
