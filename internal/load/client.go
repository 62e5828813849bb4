package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"sos/internal/s3client"
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

// statusError words an S3 error answer as sosload always has: the
// request, the status and the code.
func statusError(method, path string, err error) error {
	var e *s3client.Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Code != "" {
		return fmt.Errorf("%s %s: %d %s: %s", method, path, e.StatusCode, e.Code, e.Message)
	}
	return fmt.Errorf("%s %s: %d %s", method, path, e.StatusCode, http.StatusText(e.StatusCode))
}

// client sends signed requests to one bucket.
type client struct {
	raw      *s3client.Raw
	bucket   string
	body     []byte
	bodyHash string // payload hash sent with every PUT of body
}

// ensureBucket creates the bucket, or finds it already ours.
func (c *client) ensureBucket(ctx context.Context) error {
	resp, err := c.raw.Do(ctx, s3client.RawRequest{Op: "create-bucket", Method: http.MethodPut, Bucket: c.bucket,
		Body: []byte{}})
	if s3client.Code(err) == "BucketAlreadyOwnedByYou" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating bucket: %w", statusError(http.MethodPut, "/"+c.bucket, err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// put writes c.body at key and returns the bytes sent.
func (c *client) put(ctx context.Context, key string) (int64, error) {
	resp, err := c.raw.Do(ctx, s3client.RawRequest{Op: "put-object", Method: http.MethodPut, Bucket: c.bucket, Key: key,
		Body: c.body, PayloadHash: c.bodyHash})
	if err != nil {
		return 0, statusError(http.MethodPut, c.path(key), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return int64(len(c.body)), nil
}

// get reads key and checks that it has want bytes.
func (c *client) get(ctx context.Context, key string, want int64) (int64, error) {
	resp, err := c.raw.Do(ctx, s3client.RawRequest{Op: "get-object", Method: http.MethodGet, Bucket: c.bucket, Key: key})
	if err != nil {
		return 0, statusError(http.MethodGet, c.path(key), err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: reading body: %w", c.path(key), err)
	}
	if n != want {
		return n, fmt.Errorf("GET %s: got %d bytes, want %d", c.path(key), n, want)
	}
	return n, nil
}

func (c *client) path(key string) string { return "/" + c.bucket + "/" + key }
