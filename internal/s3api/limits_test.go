package s3api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/s3api"
)

// rawConn is one TLS connection to an env's listener on which a test
// writes requests by hand, a byte at a time if it wants. Every read and
// write on it gives up after rawConnLimit: no test can hang on it.
type rawConn struct {
	t    *testing.T
	conn *tls.Conn
	r    *bufio.Reader
}

const rawConnLimit = 10 * time.Second

func (e *env) dial() *rawConn {
	e.t.Helper()
	cfg := e.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	conn, err := tls.Dial("tcp", e.srv.Listener.Addr().String(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(rawConnLimit))
	return &rawConn{t: e.t, conn: conn, r: bufio.NewReader(conn)}
}

// head writes the header block of a root-signed request whose body is
// UNSIGNED-PAYLOAD (headers hdr, Content-Length and Transfer-Encoding
// among them); the test then writes the body with send.
func (c *rawConn) head(e *env, method, path string, hdr map[string]string) {
	c.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret},
		req, "UNSIGNED-PAYLOAD", "s3", e.zone, time.Now()); err != nil {
		c.t.Fatal(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, req.URL.RequestURI(), req.Host)
	req.Header.Write(&sb)
	sb.WriteString("\r\n")
	c.send(sb.String())
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("writing to the server: %v", err)
	}
}

// response reads one response (a 100 Continue too) and its body.
func (c *rawConn) response() (*http.Response, []byte) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading the answer's body: %v", err)
	}
	resp.Body.Close()
	return resp, b
}

// limitCounter counts Limits.OnLimit calls.
type limitCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *limitCounter) on(limit string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]int{}
	}
	l.n[limit]++
}

func (l *limitCounter) count(limit string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[limit]
}

// Past MaxRequests a request is answered at once with 503 SlowDown, signed
// or not, and not queued; once the requests being served end, requests are
// served again.
func TestMaxRequestsAnswersSlowDown(t *testing.T) {
	var lc limitCounter
	e := newZoneEnv(t, zone, false, func(o *s3api.Options) {
		o.Limits = s3api.Limits{MaxRequests: 2, OnLimit: lc.on}
	})
	e.srv.Client().Timeout = rawConnLimit
	e.mkBucket("capbkt", false)

	// Two PUTs whose bodies have not come yet hold both places: the 100
	// Continue says each is in its handler, reading its body.
	var held []*rawConn
	for i := range 2 {
		c := e.dial()
		c.head(e, "PUT", fmt.Sprintf("/capbkt/held-%d", i), map[string]string{"Content-Length": "5", "Expect": "100-continue"})
		if resp, b := c.response(); resp.StatusCode != http.StatusContinue {
			t.Fatalf("held PUT %d: want 100 Continue, got %d %s", i, resp.StatusCode, b)
		}
		held = append(held, c)
	}

	resp, b := e.rootRaw("GET", "/capbkt/held-0", nil, nil)
	wantRawError(t, resp, b, http.StatusServiceUnavailable, "SlowDown")
	if !bytes.Contains(b, []byte("serving its limit of 2 requests at once")) {
		t.Errorf("the message does not say why: %s", b)
	}
	resp, b = e.raw("GET", "/", nil, nil, "", "")
	wantRawError(t, resp, b, http.StatusServiceUnavailable, "SlowDown")
	if n := lc.count(s3api.LimitMaxRequests); n != 2 {
		t.Errorf("OnLimit(%s) was called %d times, want 2", s3api.LimitMaxRequests, n)
	}

	for i, c := range held {
		c.send("hello")
		if resp, b := c.response(); resp.StatusCode != http.StatusOK {
			t.Fatalf("held PUT %d: %d %s", i, resp.StatusCode, b)
		}
	}
	// The places are given back as the handlers return, which may be a
	// moment after their answers arrive.
	for try := 0; ; try++ {
		resp, b := e.rootRaw("GET", "/capbkt/held-1", nil, nil)
		if resp.StatusCode == http.StatusOK {
			if string(b) != "hello" {
				t.Fatalf("held-1 holds %q", b)
			}
			break
		}
		if try == 100 {
			t.Fatalf("still refused after the held requests ended: %d %s", resp.StatusCode, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A request body that stops arriving, or trickles in a byte at a time,
// fails its request with 400 RequestTimeout once it has kept its reader
// waiting BodyIdleTimeout for less than BodyProgress bytes, whoever reads
// it (an object's PUT, HTTP chunked or not, an XML body), and its
// connection is closed. Nothing is stored.
func TestSilentBodyAnswersRequestTimeout(t *testing.T) {
	var lc limitCounter
	const idle = 200 * time.Millisecond
	e := newZoneEnv(t, zone, false, func(o *s3api.Options) {
		o.Limits = s3api.Limits{BodyIdleTimeout: idle, OnLimit: lc.on}
	})
	e.mkBucket("slowbkt", false)
	mpu, err := e.s3.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String("slowbkt"), Key: aws.String("mpu")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		first              string // what arrives before the silence
		stored             string // key that must not exist afterwards
		trickle            bool   // a byte every quarter of the timeout after first
	}{
		{"put", "PUT", "/slowbkt/put", map[string]string{"Content-Length": "100"}, "0123456789", "put", false},
		{"put http chunked", "PUT", "/slowbkt/chunked", map[string]string{"Transfer-Encoding": "chunked"}, "a\r\n0123456789\r\n", "chunked", false},
		{"complete multipart upload", "POST", "/slowbkt/mpu?uploadId=" + *mpu.UploadId, map[string]string{"Content-Length": "500"},
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>", "mpu", false},
		{"put trickling", "PUT", "/slowbkt/trickle", map[string]string{"Content-Length": "100"}, "0", "trickle", true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := e.dial()
			rc.t = t
			rc.head(e, c.method, c.path, c.hdr)
			rc.send(c.first)
			if c.trickle {
				// Each byte comes well within the timeout; 100 of them
				// would take 12.5 times it. The server answers (and
				// closes) partway, so writes may fail from then on.
				go func() {
					for range 99 {
						time.Sleep(idle / 4)
						if _, err := io.WriteString(rc.conn, "x"); err != nil {
							return
						}
					}
				}()
			}
			resp, b := rc.response()
			wantRawError(t, resp, b, http.StatusBadRequest, "RequestTimeout")
			if !bytes.Contains(b, []byte("not read from or written to within the timeout period: the request body sent less than 1024 bytes in 200ms.")) {
				t.Errorf("the message does not say why: %s", b)
			}
			if !resp.Close {
				t.Errorf("the answer does not close the connection: %v", resp.Header)
			}
			if n, err := rc.r.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("the connection is still open after the answer: read %d, %v", n, err)
			}
			if _, _, err := e.get("slowbkt", c.stored, ""); err == nil {
				t.Errorf("%s was stored", c.stored)
			}
			if n := lc.count(s3api.LimitBodyIdleTimeout); n != i+1 {
				t.Errorf("OnLimit(%s) was called %d times, want %d", s3api.LimitBodyIdleTimeout, n, i+1)
			}
		})
	}
}

// The timeout is on silence, not on the whole body: a body that keeps
// coming is read to its end however long it takes (here 10 times the
// timeout), and the connection serves the next request.
func TestSlowSteadyBodyIsNotCut(t *testing.T) {
	var lc limitCounter
	const idle = 200 * time.Millisecond
	e := newZoneEnv(t, zone, false, func(o *s3api.Options) {
		o.Limits = s3api.Limits{BodyIdleTimeout: idle, OnLimit: lc.on}
	})
	e.mkBucket("steadybkt", false)
	const pieces = 40
	piece := strings.Repeat("x", s3api.BodyProgress)
	rc := e.dial()
	rc.head(e, "PUT", "/steadybkt/k", map[string]string{"Content-Length": fmt.Sprint(pieces * len(piece))})
	for range pieces {
		time.Sleep(idle / 4)
		rc.send(piece)
	}
	if resp, b := rc.response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("slow PUT: %d %s", resp.StatusCode, b)
	}
	rc.head(e, "GET", "/steadybkt/k", nil)
	resp, b := rc.response()
	if resp.StatusCode != http.StatusOK || string(b) != strings.Repeat(piece, pieces) {
		t.Fatalf("GET on the same connection: %d, %d bytes", resp.StatusCode, len(b))
	}
	if n := lc.count(s3api.LimitBodyIdleTimeout); n != 0 {
		t.Errorf("OnLimit(%s) was called %d times", s3api.LimitBodyIdleTimeout, n)
	}
}
