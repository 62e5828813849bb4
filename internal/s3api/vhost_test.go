package s3api

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"sos/internal/s3err"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Hosts of the routing table: the handler is configured as a zone is, with
// its listen addresses (with port) and a --domain without one.
var (
	routingDomains = []string{"127.0.0.1:9001", "[::1]:9001", "s3.local"}
	vhostHosts     = []string{"bkt.s3.local", "bkt.s3.local:9001", "Bkt.S3.Local:9001", "bkt.s3.local."}
	pathHosts      = []string{"s3.local", "s3.local:9001", "S3.LOCAL:9001", "127.0.0.1:9001", "127.0.0.1", "[::1]:9001", "[::1]"}
)

// routingRequest is one request of the table: method, the target after the
// bucket (path style puts "/bkt" in front), query and whether it copies.
type routingRequest struct {
	method, level, rest, query string
	copy, service              bool
}

// requestsOf is one request per entry of the operation table, on bucket bkt
// and key photos/2024/k.jpg.
func requestsOf(t *testing.T) []routingRequest {
	keys := make([]opKey, 0, len(opTable))
	for k := range opTable {
		keys = append(keys, k)
	}
	levels := map[string]int{lvService: 0, lvBucket: 1, lvObject: 2}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.level != b.level {
			return levels[a.level] < levels[b.level]
		}
		if a.sub != b.sub {
			return a.sub < b.sub
		}
		return a.method < b.method
	})
	var out []routingRequest
	for _, k := range keys {
		rr := routingRequest{method: k.method, level: k.level}
		switch k.level {
		case lvService:
			rr.rest, rr.service = "/", true
		case lvBucket:
			rr.rest = "/"
		case lvObject:
			rr.rest = "/photos/2024/k.jpg"
		}
		switch k.sub {
		case subNone:
		case subListV2:
			rr.query = "list-type=2"
		case subCopy:
			rr.copy = true
		case subPart:
			rr.query = "partNumber=1&uploadId=u1"
		case subPartCopy:
			rr.query, rr.copy = "partNumber=1&uploadId=u1", true
		case "uploadId":
			rr.query = "uploadId=u1"
		default:
			rr.query = k.sub
		}
		out = append(out, rr)
	}
	if len(out) != len(opTable) {
		t.Fatalf("%d requests for %d operations", len(out), len(opTable))
	}
	// The requests of the issue: GET of a key and an empty PUT of a
	// "folder", which path-style parsing took for a bucket.
	out = append(out, routingRequest{method: http.MethodGet, level: lvObject, rest: "/key"},
		routingRequest{method: http.MethodPut, level: lvObject, rest: "/photos/"})
	return out
}

// routed is where a request went: the IAM operation and the handler, or
// the S3 error code.
type routed struct{ op, handler, bucket, key, err string }

func (r routed) String() string {
	if r.err != "" {
		return "error " + r.err
	}
	return fmt.Sprintf("%s (%s) bucket=%q key=%q", r.op, r.handler, r.bucket, r.key)
}

// handlerName is the method name of an operation's handler.
func handlerName(op *operation) string {
	if op.handle == nil {
		return "none"
	}
	name := runtime.FuncForPC(reflect.ValueOf(op.handle).Pointer()).Name()
	return name[strings.LastIndexByte(name, '.')+1:]
}

func routeOf(t *testing.T, h *Handler, method, host, target string, copy bool) routed {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Method: method, Host: host, URL: u, Header: http.Header{}}
	if copy {
		r.Header.Set("X-Amz-Copy-Source", "/src/k")
	}
	req := &request{r: r}
	res := func(err error) routed {
		var e *s3err.Error
		if errors.As(err, &e) {
			return routed{err: string(e.Code)}
		}
		return routed{err: err.Error()}
	}
	if err := h.target(req); err != nil {
		return res(err)
	}
	op, err := route(method, req.bucket, req.key, u.Query(), r.Header)
	if err != nil {
		return res(err)
	}
	return routed{op: op.name, handler: handlerName(op), bucket: req.bucket, key: req.key}
}

// TestVirtualHostRoutingGolden routes every operation of the table with
// each Host form (virtual-host style with and without a port, mixed case,
// a final dot; path style on the domain, an IPv4 and an IPv6 listen
// address) and compares the operation, bucket and key found with
// testdata/vhost-routing.golden. Each virtual-host row must also route as
// its path-style twin does.
func TestVirtualHostRoutingGolden(t *testing.T) {
	h := New(Options{Zone: "ch-dk-2", Domains: routingDomains}).(*Handler)
	var out strings.Builder
	fmt.Fprintf(&out, "# domains: %s\n", strings.Join(routingDomains, " "))
	for _, rr := range requestsOf(t) {
		q := ""
		if rr.query != "" {
			q = "?" + rr.query
		}
		suffix := ""
		if rr.copy {
			suffix = " (x-amz-copy-source)"
		}
		if rr.level == "" {
			rr.level = lvObject
		}
		fmt.Fprintf(&out, "\n%s %s %s%s%s\n", rr.method, rr.level, rr.rest, q, suffix)
		if rr.service {
			// Only a path-style host reaches the service; on a bucket's
			// host the same request is for the bucket.
			for _, host := range append(pathHosts, vhostHosts...) {
				fmt.Fprintf(&out, "  %-18s %-50s %v\n", host, "/"+q, routeOf(t, h, rr.method, host, "/"+q, rr.copy))
			}
			continue
		}
		var twin routed
		for _, host := range pathHosts {
			target := "/bkt" + rr.rest + q
			if rr.rest == "/" {
				target = "/bkt" + q
			}
			got := routeOf(t, h, rr.method, host, target, rr.copy)
			if host == pathHosts[0] {
				twin = got
			} else if got != twin {
				t.Errorf("%s %s%s: %v, but %v on %s", rr.method, host, target, got, twin, pathHosts[0])
			}
			fmt.Fprintf(&out, "  %-18s %-50s %v\n", host, target, got)
		}
		for _, host := range vhostHosts {
			got := routeOf(t, h, rr.method, host, rr.rest+q, rr.copy)
			if got != twin {
				t.Errorf("%s %s%s: %v, path style gives %v", rr.method, host, rr.rest+q, got, twin)
			}
			fmt.Fprintf(&out, "  %-18s %-50s %v\n", host, rr.rest+q, got)
		}
	}
	const golden = "testdata/vhost-routing.golden"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("routing differs from %s (go test -run TestVirtualHostRoutingGolden -update rewrites it):\n%s", golden, lineDiff(string(want), out.String()))
	}
}

// lineDiff lists the lines of got that differ from want, by position.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestHostName(t *testing.T) {
	for in, want := range map[string]string{
		"s3.local":              "s3.local",
		"s3.local:9001":         "s3.local",
		"Photos.S3.Local.:9001": "photos.s3.local",
		"b.s3.local.":           "b.s3.local",
		"127.0.0.1:9001":        "127.0.0.1",
		"[::1]:9001":            "::1",
		"[::1]":                 "::1",
		"::1":                   "::1",
		"":                      "",
	} {
		if got := hostName(in); got != want {
			t.Errorf("hostName(%q) = %q, want %q", in, got, want)
		}
	}
}
