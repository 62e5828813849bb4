package s3client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"sos/internal/auth/sigv4"
)

// UnsignedPayload as a RawRequest's PayloadHash sends the body without
// signing it (the signature still covers the headers).
const UnsignedPayload = sigv4.UnsignedPayload

// maxErrorAnswer bounds the body read from an error answer of a raw call.
const maxErrorAnswer = 64 << 10

// Raw sends one S3 request at a time over plain net/http, signed with
// internal/auth/sigv4: for what the SDK does not model (the
// sos-replication-* extensions, see Replication) and where its work per
// request would be measured instead of the server's (load generation). A
// Raw is cheap to make and safe for concurrent use.
type Raw struct {
	endpoint string
	region   string
	creds    sigv4.Credentials
	http     *http.Client
}

// NewRaw returns raw calls to the zone cfg names; with no access key they
// are sent unsigned. cfg.MaxAttempts and cfg.SDKChecksums do not apply: a
// raw call is sent once.
func NewRaw(cfg Config) *Raw {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Raw{
		endpoint: strings.TrimSuffix(cfg.Endpoint, "/"),
		region:   cfg.Region,
		creds:    sigv4.Credentials{AccessKey: cfg.AccessKey, Secret: cfg.Secret, SessionToken: cfg.SessionToken},
		http:     hc,
	}
}

// RawRequest is one request of a Raw client.
type RawRequest struct {
	// Op names the operation in sos's kebab-case (put-object), for errors.
	Op     string
	Method string
	// Bucket and Key address the request (path-style); Key may be empty.
	// Both are escaped here.
	Bucket, Key string
	// Query is the raw query string, such as "versioning".
	Query string
	// Body is sent as is; nil and empty both send no body (a PUT says
	// Content-Length: 0).
	Body []byte
	// PayloadHash is x-amz-content-sha256: the hex SHA-256 of Body or
	// UnsignedPayload. Empty means compute it from Body.
	PayloadHash string
	// Header is added to the request before it is signed.
	Header http.Header
}

// Do sends req. A 2xx answer is returned for the caller to read and close;
// any other answer is read, closed and returned as an *Error; a request
// that got no answer returns the HTTP client's error (a *url.Error).
func (r *Raw) Do(ctx context.Context, req RawRequest) (*http.Response, error) {
	if req.Bucket == "" {
		return nil, fmt.Errorf("s3client: %s needs a bucket name", req.Op)
	}
	if r.endpoint == "" {
		return nil, fmt.Errorf("s3client: zone %s has no endpoint", r.region)
	}
	var key, query string
	if req.Key != "" {
		key = "/" + escapeKey(req.Key)
	}
	if req.Query != "" {
		query = "?" + req.Query
	}
	var body io.Reader // none: the transport still says Content-Length: 0 on a PUT or POST
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, r.endpoint+"/"+url.PathEscape(req.Bucket)+key+query, body)
	if err != nil {
		return nil, fmt.Errorf("s3client: %s: %w", req.Op, err)
	}
	for k, vs := range req.Header {
		hreq.Header[k] = vs
	}
	if r.creds.AccessKey != "" {
		hash := req.PayloadHash
		switch {
		case hash == "" && len(req.Body) == 0:
			hash = sigv4.EmptySHA256
		case hash == "":
			sum := sha256.Sum256(req.Body)
			hash = hex.EncodeToString(sum[:])
		}
		if err := sigv4.Sign(hreq, r.creds, sigv4.SignOptions{Region: r.region, PayloadHash: hash}); err != nil {
			return nil, fmt.Errorf("s3client: signing %s: %w", req.Op, err)
		}
	}
	res, err := r.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorAnswer))
		return nil, errorFromResponse(req.Op, res, data)
	}
	return res, nil
}

// BucketVersioning returns bucket's versioning status: "Enabled",
// "Suspended", or "" for a bucket that never had versioning.
func (r *Raw) BucketVersioning(ctx context.Context, bucket string) (string, error) {
	res, err := r.Do(ctx, RawRequest{Op: "get-bucket-versioning", Method: http.MethodGet, Bucket: bucket, Query: "versioning",
		PayloadHash: UnsignedPayload})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var v struct {
		Status string `xml:"Status"`
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxErrorAnswer))
	if err == nil {
		err = xml.Unmarshal(data, &v)
	}
	if err != nil {
		return "", fmt.Errorf("reading the versioning of bucket %s in zone %s: %w", bucket, r.region, err)
	}
	return v.Status, nil
}

// escapeKey escapes an object key for a path, keeping its slashes.
func escapeKey(key string) string {
	plain := true
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '-' || c == '_' || c == '.' || c == '~'
	}
	if plain {
		return key
	}
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
