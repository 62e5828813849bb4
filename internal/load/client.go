package load

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"sos/internal/auth/sigv4"
)

// NewTransport returns a Transport for concurrency workers against one
// host: enough idle connections that no worker ever dials again after its
// first request, no proxy, no compression, HTTP/1.1.
func NewTransport(concurrency int) *http.Transport {
	idle := max(2*concurrency, 4)
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: 0,
		ResponseHeaderTimeout: 2 * time.Minute,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
}

// s3Error is the <Error> body of an S3 error response.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// statusError is a request that got an unexpected HTTP status.
type statusError struct {
	method, path string
	status       int
	code, msg    string
}

func (e *statusError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("%s %s: %d %s: %s", e.method, e.path, e.status, e.code, e.msg)
	}
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, http.StatusText(e.status))
}

func readStatusError(r *http.Request, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	e := &statusError{method: r.Method, path: r.URL.Path, status: resp.StatusCode}
	var x s3Error
	if xml.Unmarshal(body, &x) == nil {
		e.code, e.msg = x.Code, x.Message
	}
	return e
}

// client sends signed requests to one bucket.
type client struct {
	hc       *http.Client
	creds    sigv4.Credentials
	region   string
	base     string // endpoint + "/" + bucket
	body     []byte
	bodyHash string // payload hash sent with every PUT of body
}

func (c *client) newRequest(ctx context.Context, method, url string, body []byte, payloadHash string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil && len(body) == 0 {
		// An empty PUT still says Content-Length: 0.
		r.Body, r.GetBody, r.ContentLength = http.NoBody, nil, 0
	}
	if err := sigv4.Sign(r, c.creds, sigv4.SignOptions{Region: c.region, PayloadHash: payloadHash}); err != nil {
		return nil, err
	}
	return r, nil
}

// ensureBucket creates the bucket, or finds it already ours.
func (c *client) ensureBucket(ctx context.Context) error {
	r, err := c.newRequest(ctx, http.MethodPut, c.base, []byte{}, sigv4.EmptySHA256)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(r)
	if err != nil {
		return fmt.Errorf("creating bucket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	err = readStatusError(r, resp)
	if se, ok := err.(*statusError); ok && se.code == "BucketAlreadyOwnedByYou" {
		return nil
	}
	return fmt.Errorf("creating bucket: %w", err)
}

// put writes c.body at key and returns the bytes sent.
func (c *client) put(ctx context.Context, key string) (int64, error) {
	r, err := c.newRequest(ctx, http.MethodPut, c.base+"/"+key, c.body, c.bodyHash)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, readStatusError(r, resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return int64(len(c.body)), nil
}

// get reads key and checks that it has want bytes.
func (c *client) get(ctx context.Context, key string, want int64) (int64, error) {
	r, err := c.newRequest(ctx, http.MethodGet, c.base+"/"+key, nil, sigv4.EmptySHA256)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, readStatusError(r, resp)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: reading body: %w", r.URL.Path, err)
	}
	if n != want {
		return n, fmt.Errorf("GET %s: got %d bytes, want %d", r.URL.Path, n, want)
	}
	return n, nil
}
