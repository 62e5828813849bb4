package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"sos/internal/iam"
	"sos/internal/meta"
)

// Replica write headers (see docs/replica-writes.md).
const (
	HeaderReplicaVersionID    = "X-Sos-Replica-Version-Id"
	HeaderReplicaLastModified = "X-Sos-Replica-Last-Modified"
	HeaderReplicaETag         = "X-Sos-Replica-Etag"
	HeaderReplicaPartsCount   = "X-Sos-Replica-Parts-Count"
	HeaderReplicaDeleteMarker = "X-Sos-Replica-Delete-Marker"
)

// credCache keeps temporary credentials per role until a quarter of their
// lifetime is left.
type credCache struct {
	src Credentials
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedCreds
}

type cachedCreds struct {
	c       iam.TempCredentials
	fetched time.Time
}

func newCredCache(src Credentials, now func() time.Time) *credCache {
	return &credCache{src: src, now: now, m: map[string]cachedCreds{}}
}

func (cc *credCache) get(ctx context.Context, role string) (iam.TempCredentials, error) {
	now := cc.now()
	cc.mu.Lock()
	c, ok := cc.m[role]
	cc.mu.Unlock()
	if ok && c.c.Expiration.Sub(now) > c.c.Expiration.Sub(c.fetched)/4 {
		return c.c, nil
	}
	creds, err := cc.src.RoleCredentials(ctx, role)
	if err != nil {
		return iam.TempCredentials{}, err
	}
	cc.mu.Lock()
	cc.m[role] = cachedCreds{c: creds, fetched: now}
	cc.mu.Unlock()
	return creds, nil
}

func (cc *credCache) forget(role string) {
	cc.mu.Lock()
	delete(cc.m, role)
	cc.mu.Unlock()
}

// peerClients holds one S3 client per destination zone endpoint.
type peerClients struct {
	hc *http.Client
	mu sync.Mutex
	m  map[string]*peer
}

type peer struct{ c *s3.Client }

func newPeerClients(hc *http.Client) *peerClients {
	return &peerClients{hc: hc, m: map[string]*peer{}}
}

func (pc *peerClients) get(zone, endpoint string) *peer {
	k := zone + "\x00" + endpoint
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if p := pc.m[k]; p != nil {
		return p
	}
	cfg := aws.Config{
		Region:                     zone,
		BaseEndpoint:               aws.String(endpoint),
		HTTPClient:                 pc.hc,
		Retryer:                    func() aws.Retryer { return aws.NopRetryer{} },
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	p := &peer{c: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	pc.m[k] = p
	return p
}

// callOptions signs a call with the role's temporary credentials.
func (r *Replicator) callOptions(c iam.TempCredentials) func(*s3.Options) {
	prov := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.Secret, SessionToken: c.SessionToken,
			CanExpire: true, Expires: c.Expiration, Source: "sos-role-session"}, nil
	})
	return func(o *s3.Options) { o.Credentials = prov }
}

// withHeaders adds raw HTTP headers to one call (before signing).
func withHeaders(h http.Header) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Build.Add(middleware.BuildMiddlewareFunc("SosReplicaHeaders",
				func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						for k, vs := range h {
							req.Header[k] = vs
						}
					}
					return next.HandleBuild(ctx, in)
				}), middleware.After)
		})
	}
}

func replicaHeaders(v *meta.Version) http.Header {
	h := http.Header{}
	h.Set(HeaderReplicaVersionID, v.VersionID)
	h.Set(HeaderReplicaLastModified, v.LastModified.UTC().Format(time.RFC3339Nano))
	if v.IsDeleteMarker {
		h.Set(HeaderReplicaDeleteMarker, "true")
		return h
	}
	h.Set(HeaderReplicaETag, v.ETag)
	if v.PartsCount > 0 {
		h.Set(HeaderReplicaPartsCount, strconv.Itoa(v.PartsCount))
	}
	if v.Attrs.Expires != "" {
		h.Set("Expires", v.Attrs.Expires)
	}
	return h
}

// EncodeTags renders tags as x-amz-tagging (URL query form), sorted.
func EncodeTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(tags[k]))
	}
	return b.String()
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (p *peer) putObject(ctx context.Context, timeout time.Duration, call func(*s3.Options), bucket string, v *meta.Version, body io.Reader) error {
	var rd io.ReadSeeker
	if ra, ok := body.(io.ReaderAt); ok {
		rd = io.NewSectionReader(ra, 0, v.Size)
	} else {
		buf := make([]byte, v.Size)
		if _, err := io.ReadFull(body, buf); err != nil {
			return fmt.Errorf("reading the source version: %w", err)
		}
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := p.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(v.Key), Body: rd, ContentLength: aws.Int64(v.Size),
		ContentType: optString(v.Attrs.ContentType), CacheControl: optString(v.Attrs.CacheControl),
		ContentDisposition: optString(v.Attrs.ContentDisposition), ContentEncoding: optString(v.Attrs.ContentEncoding),
		ContentLanguage: optString(v.Attrs.ContentLanguage), Metadata: v.Attrs.UserMeta,
		Tagging: optString(EncodeTags(v.Tags)),
	}, call, withHeaders(replicaHeaders(v)))
	return wrapCall(err, "PutObject", bucket, v.Key)
}

func (p *peer) putDeleteMarker(ctx context.Context, timeout time.Duration, call func(*s3.Options), bucket string, v *meta.Version) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := p.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(v.Key), Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
	}, call, withHeaders(replicaHeaders(v)))
	return wrapCall(err, "PutObject (delete marker)", bucket, v.Key)
}

func (p *peer) putTags(ctx context.Context, timeout time.Duration, call func(*s3.Options), bucket string, v *meta.Version) error {
	keys := make([]string, 0, len(v.Tags))
	for k := range v.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	set := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(v.Tags[k])})
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := p.c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(bucket), Key: aws.String(v.Key), VersionId: aws.String(v.VersionID),
		Tagging: &types.Tagging{TagSet: set},
	}, call)
	return wrapCall(err, "PutObjectTagging", bucket, v.Key)
}

func (p *peer) putMultipart(ctx context.Context, timeout time.Duration, call func(*s3.Options), bucket string, v *meta.Version, body io.Reader, partSize int64) error {
	if min := (v.Size + 9999) / 10000; partSize < min {
		partSize = min
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	cu, err := p.c.CreateMultipartUpload(cctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(v.Key),
		ContentType: optString(v.Attrs.ContentType), CacheControl: optString(v.Attrs.CacheControl),
		ContentDisposition: optString(v.Attrs.ContentDisposition), ContentEncoding: optString(v.Attrs.ContentEncoding),
		ContentLanguage: optString(v.Attrs.ContentLanguage), Metadata: v.Attrs.UserMeta,
		Tagging: optString(EncodeTags(v.Tags)),
	}, call, withHeaders(replicaHeaders(v)))
	cancel()
	if err != nil {
		return wrapCall(err, "CreateMultipartUpload", bucket, v.Key)
	}
	uploadID := cu.UploadId
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		_, _ = p.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(v.Key), UploadId: uploadID}, call)
	}
	ra, isRA := body.(io.ReaderAt)
	var buf []byte
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < v.Size; off, n = off+partSize, n+1 {
		ln := min(partSize, v.Size-off)
		var rd io.ReadSeeker
		if isRA {
			rd = io.NewSectionReader(ra, off, ln)
		} else {
			if buf == nil {
				buf = make([]byte, partSize)
			}
			if _, err := io.ReadFull(body, buf[:ln]); err != nil {
				abort()
				return fmt.Errorf("reading the source version: %w", err)
			}
			rd = bytes.NewReader(buf[:ln])
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := p.c.UploadPart(pctx, &s3.UploadPartInput{
			Bucket: aws.String(bucket), Key: aws.String(v.Key), UploadId: uploadID, PartNumber: aws.Int32(n),
			Body: rd, ContentLength: aws.Int64(ln),
		}, call)
		cancel()
		if err != nil {
			abort()
			return wrapCall(err, fmt.Sprintf("UploadPart %d", n), bucket, v.Key)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	}
	cctx, cancel = context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = p.c.CompleteMultipartUpload(cctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(v.Key), UploadId: uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}, call)
	if err != nil {
		abort()
		return wrapCall(err, "CompleteMultipartUpload", bucket, v.Key)
	}
	return nil
}

// callError keeps the operation and object in the message while leaving
// the SDK error matchable.
type callError struct {
	what string
	err  error
}

func (e *callError) Error() string { return e.what + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

func wrapCall(err error, op, bucket, key string) error {
	if err == nil {
		return nil
	}
	return &callError{what: fmt.Sprintf("%s %s/%s", op, bucket, key), err: err}
}

// isMissingOnDest reports a 404 for the object or version on the
// destination.
func isMissingOnDest(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NoSuchVersion", "NotFound":
			return true
		}
	}
	return false
}
