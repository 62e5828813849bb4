package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/auth/sigv4"
)

// The request limits of a zone process (--max-requests, --read-timeout):
// the tests that they hold, and the memory figures of the two
// attacks as benchmarks. Run the benchmarks with
//
//	go test ./internal/server -run '^$' -bench 'NestedXML|SlowBody' -benchtime 1x
//
// They report the zone process's peak resident set (VmHWM) in MB.

// handConn is a plain TCP connection to a zone on which a request is
// written by hand. Every read and write gives up after handConnLimit: no
// test or benchmark can hang on one.
type handConn struct {
	net.Conn
	r *bufio.Reader
}

const handConnLimit = 60 * time.Second

// signedHead opens a connection to addr and writes the header block of a
// root-signed request for region whose body will be body (its SHA-256 is
// signed; the test sends the body itself, at its own pace).
// The caller closes it.
func signedHead(addr, region, method, pathQuery string, body []byte, hdr map[string]string) (*handConn, error) {
	req, err := http.NewRequest(method, "http://"+addr+pathQuery, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	if err := sigv4.Sign(req, sigv4.Credentials{AccessKey: rootKey, Secret: rootSecret},
		sigv4.SignOptions{Region: region, PayloadHash: hex.EncodeToString(sum[:])}); err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(handConnLimit))
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, req.URL.RequestURI(), req.Host, len(body))
	req.Header.Write(&sb)
	sb.WriteString("\r\n")
	if _, err := io.WriteString(conn, sb.String()); err != nil {
		conn.Close()
		return nil, err
	}
	return &handConn{Conn: conn, r: bufio.NewReader(conn)}, nil
}

// response reads one answer (a 100 Continue too) and its body.
func (c *handConn) response() (*http.Response, []byte, error) {
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b, err
}

// refusedSample is the value of sos_s3_requests_refused_total{limit=...}
// on a zone's /metrics.
func refusedSample(tb testing.TB, z *zoneProc, limit string) float64 {
	tb.Helper()
	resp, err := getMetrics(z.wire.http(), z.url())
	if err != nil {
		tb.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "sos_s3_requests_refused_total{") && strings.Contains(l, `limit="`+limit+`"`) {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				tb.Fatalf("%q: %v", l, err)
			}
			return v
		}
	}
	tb.Fatalf("no sos_s3_requests_refused_total{limit=%q} on /metrics", limit)
	return 0
}

// TestZoneRequestLimits runs `sosd zone --max-requests 2 --read-timeout 1s`:
// two uploads whose bodies do not come hold both places, a third request
// gets 503 SlowDown at once while /metrics still answers, the two silent
// uploads get 400 RequestTimeout and their connections closed, the
// refusals are counted on /metrics, and the zone serves again.
func TestZoneRequestLimits(t *testing.T) {
	c := startCluster(t, clusterOptions{ZoneArgs: []string{"--max-requests", "2", "--read-timeout", "1s"}}, "ch-dk-2")
	z := c.zones["ch-dk-2"]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := z.s3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("limits")}); err != nil {
		t.Fatal(err)
	}
	var held []*handConn
	for i := range 2 {
		hc, err := signedHead(z.listen, z.name, "PUT", fmt.Sprintf("/limits/held-%d", i), []byte("hello"), map[string]string{"Expect": "100-continue"})
		if err != nil {
			t.Fatal(err)
		}
		defer hc.Close()
		resp, b, err := hc.response()
		if err != nil || resp.StatusCode != http.StatusContinue {
			t.Fatalf("held PUT %d: want 100 Continue, got %v %s (%v)", i, resp, b, err)
		}
		held = append(held, hc)
	}
	if refusedSample(t, z, "max-requests") != 0 {
		t.Fatal("refusals counted before any")
	}
	st, _, body := signedS3(t, "GET", z.url()+"/limits/held-0", z.name, rootKey, rootSecret)
	if st != http.StatusServiceUnavailable || !bytes.Contains(body, []byte("<Code>SlowDown</Code>")) {
		t.Fatalf("third request: want 503 SlowDown, got %d %s", st, body)
	}
	if n := refusedSample(t, z, "max-requests"); n != 1 {
		t.Errorf("max-requests refusals on /metrics: %v, want 1", n)
	}
	for i, hc := range held {
		resp, b, err := hc.response()
		if err != nil || resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("<Code>RequestTimeout</Code>")) {
			t.Fatalf("silent PUT %d: want 400 RequestTimeout, got %v %s (%v)", i, resp, b, err)
		}
		if n, err := hc.r.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("silent PUT %d: the connection is still open: read %d, %v", i, n, err)
		}
	}
	if n := refusedSample(t, z, "body-idle-timeout"); n != 2 {
		t.Errorf("body-idle-timeout refusals on /metrics: %v, want 2", n)
	}
	pollUntil(t, 10*time.Second, func() string {
		if err := putString(ctx, z.s3(), "limits", "after", "served again"); err != nil {
			return err.Error()
		}
		return ""
	})
}

// procMB reads a field of /proc/PID/status (VmHWM, VmRSS) in MB.
func procMB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if name, rest, ok := strings.Cut(l, ":"); ok && name == field {
			f := strings.Fields(rest)
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				tb.Fatalf("%s: %q", field, l)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// attackBodies are CompleteMultipartUpload bodies of 2 MiB, the most a zone
// reads for one.
var attackBodies = map[string]func() []byte{
	// Nested elements, as deep as the bytes allow.
	"nested": func() []byte {
		const open, closing = "<Part>", "</Part>"
		n := (2<<20 - len("<CompleteMultipartUpload></CompleteMultipartUpload>")) / (len(open) + len(closing))
		return []byte("<CompleteMultipartUpload>" + strings.Repeat(open, n) + strings.Repeat(closing, n) + "</CompleteMultipartUpload>")
	},
	// The widest document accepted: 10,000 parts, with ETags long enough
	// to fill the 2 MiB, decoded in full (then refused: no such parts).
	"parts": func() []byte {
		var sb strings.Builder
		sb.WriteString("<CompleteMultipartUpload>")
		etag := strings.Repeat("e", (2<<20-100)/10000-len("<Part><PartNumber>10000</PartNumber><ETag></ETag></Part>"))
		for i := 1; i <= 10000; i++ {
			fmt.Fprintf(&sb, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i, etag)
		}
		sb.WriteString("</CompleteMultipartUpload>")
		return []byte(sb.String())
	},
}

// BenchmarkNestedXMLAttack sends 64 CompleteMultipartUpload bodies of 2 MiB
// at once to a `sosd zone` process, per iteration, and reports the zone
// process's peak resident set. Each must be refused with 400 (MalformedXML
// for the nested one, InvalidPart for the widest accepted list).
func BenchmarkNestedXMLAttack(b *testing.B) {
	for _, shape := range []string{"nested", "parts"} {
		b.Run(shape, func(b *testing.B) {
			body := attackBodies[shape]()
			if len(body) > 2<<20 {
				b.Fatalf("%s body is %d bytes", shape, len(body))
			}
			want := map[string]string{"nested": "MalformedXML", "parts": "InvalidPart"}[shape]
			c := startCluster(b, clusterOptions{}, "ch-dk-2")
			z := c.zones["ch-dk-2"]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cl := z.s3()
			if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("attack")}); err != nil {
				b.Fatal(err)
			}
			mpu, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("attack"), Key: aws.String("k")})
			if err != nil {
				b.Fatal(err)
			}
			pid := z.cmd.Process.Pid
			base := procMB(b, pid, "VmRSS")
			const concurrent = 64
			b.SetBytes(int64(concurrent * len(body)))
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				errs := make(chan error, concurrent)
				for range concurrent {
					wg.Add(1)
					go func() {
						defer wg.Done()
						hc, err := signedHead(z.listen, z.name, "POST", "/attack/k?uploadId="+*mpu.UploadId, body, nil)
						if err != nil {
							errs <- err
							return
						}
						defer hc.Close()
						// The zone may answer before it has read it all.
						go hc.Write(body)
						resp, rb, err := hc.response()
						switch {
						case err != nil:
							errs <- err
						case resp.StatusCode != http.StatusBadRequest || !bytes.Contains(rb, []byte("<Code>"+want+"</Code>")):
							errs <- fmt.Errorf("want 400 %s, got %d %s", want, resp.StatusCode, rb)
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(procMB(b, pid, "VmHWM"), "peak-RSS-MB")
			b.ReportMetric(base, "start-RSS-MB")
		})
	}
}

// BenchmarkSlowBodyConnections opens 200 signed PUTs of 64 KiB (objects
// kept inline: the zone holds a buffer of the declared size for each) to a
// `sosd zone --read-timeout 10s` process, per iteration, each sending one
// byte every 2 s, and reports the zone process's peak resident set and how
// long the zone took to cut the last of them with RequestTimeout.
// SOS_BENCH_READ_TIMEOUT changes the zone's --read-timeout.
func BenchmarkSlowBodyConnections(b *testing.B) {
	timeout := os.Getenv("SOS_BENCH_READ_TIMEOUT")
	if timeout == "" {
		timeout = "10s"
	}
	c := startCluster(b, clusterOptions{ZoneArgs: []string{"--read-timeout", timeout}}, "ch-dk-2")
	z := c.zones["ch-dk-2"]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := z.s3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("slow")}); err != nil {
		b.Fatal(err)
	}
	pid := z.cmd.Process.Pid
	base := procMB(b, pid, "VmRSS")
	body := bytes.Repeat([]byte("s"), 64<<10)
	const conns = 200
	var slowest time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		var mu sync.Mutex
		for j := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc, err := signedHead(z.listen, z.name, "PUT", fmt.Sprintf("/slow/%d-%d", i, j), body, nil)
				if err != nil {
					errs <- err
					return
				}
				defer hc.Close()
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					for k := 0; k < len(body); k++ {
						if _, err := hc.Write(body[k : k+1]); err != nil {
							return
						}
						select {
						case <-stop:
							return
						case <-time.After(2 * time.Second):
						}
					}
				}()
				resp, rb, err := hc.response()
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != http.StatusBadRequest || !bytes.Contains(rb, []byte("<Code>RequestTimeout</Code>")):
					errs <- fmt.Errorf("want 400 RequestTimeout, got %d %s", resp.StatusCode, rb)
				}
				mu.Lock()
				slowest = max(slowest, time.Since(start))
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(procMB(b, pid, "VmHWM"), "peak-RSS-MB")
	b.ReportMetric(base, "start-RSS-MB")
	b.ReportMetric(slowest.Seconds(), "s-to-cut-last")
	if n := refusedSample(b, z, "body-idle-timeout"); n != float64(conns*b.N) {
		b.Errorf("body-idle-timeout refusals on /metrics: %v, want %d", n, conns*b.N)
	}
}
