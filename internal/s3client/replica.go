package s3client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Replica write headers: the client side of docs/replica-writes.md (the
// S3 handler reads them).
const (
	HeaderReplicaVersionID    = "X-Sos-Replica-Version-Id"
	HeaderReplicaLastModified = "X-Sos-Replica-Last-Modified"
	HeaderReplicaETag         = "X-Sos-Replica-Etag"
	HeaderReplicaPartsCount   = "X-Sos-Replica-Parts-Count"
	HeaderReplicaDeleteMarker = "X-Sos-Replica-Delete-Marker"
)

// Replica is a source version as a replica write carries it: where it goes,
// the identity the destination keeps (version ID, last-modified time, ETag,
// parts count), and what S3 stores with the object.
type Replica struct {
	Bucket, Key  string // the destination
	VersionID    string
	LastModified time.Time
	DeleteMarker bool
	ETag         string
	PartsCount   int
	// PartSizes are the sizes of a multipart source's parts, in order
	// (PartsCount of them): PutMultipart sends the replica in the same
	// parts, so that it has the source's part boundaries.
	PartSizes []int64
	Size      int64
	// Content headers and user metadata, as stored at the source.
	ContentType, CacheControl, ContentDisposition, ContentEncoding, ContentLanguage, Expires string

	Metadata map[string]string // x-amz-meta-*
	Tags     map[string]string
}

// Credentials sign one replica write: a role session's temporary
// credentials.
type Credentials struct {
	AccessKey, Secret, SessionToken string
	Expires                         time.Time
}

// Replicas writes replicas to one zone (see docs/replica-writes.md) with
// the SDK: each request is sent once (the caller decides about retries),
// bounded by the timeout, and signed with the credentials given to the
// call. Failures are the SDK's errors under the operation and object
// (errors.As and ErrorOf find them).
type Replicas struct {
	c       *s3.Client
	timeout time.Duration
}

// NewReplicas returns the replica writes to the zone cfg names; timeout
// bounds each request. cfg's credentials and MaxAttempts do not apply.
func NewReplicas(cfg Config, timeout time.Duration) *Replicas {
	cfg.AccessKey, cfg.Secret, cfg.SessionToken, cfg.MaxAttempts = "", "", "", 0
	c := New(cfg, func(o *s3.Options) { o.Retryer = aws.NopRetryer{} })
	return &Replicas{c: c, timeout: timeout}
}

// Put writes a replica of an object in one PutObject. body holds its
// r.Size bytes; a body that is an io.ReaderAt is sent without a copy.
func (p *Replicas) Put(ctx context.Context, creds Credentials, r Replica, body io.Reader) error {
	var rd io.ReadSeeker
	if ra, ok := body.(io.ReaderAt); ok {
		rd = io.NewSectionReader(ra, 0, r.Size)
	} else {
		buf := make([]byte, r.Size)
		if _, err := io.ReadFull(body, buf); err != nil {
			return fmt.Errorf("reading the source version: %w", err)
		}
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err := p.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(r.Bucket), Key: aws.String(r.Key), Body: rd, ContentLength: aws.Int64(r.Size),
		ContentType: optString(r.ContentType), CacheControl: optString(r.CacheControl),
		ContentDisposition: optString(r.ContentDisposition), ContentEncoding: optString(r.ContentEncoding),
		ContentLanguage: optString(r.ContentLanguage), Metadata: r.Metadata,
		Tagging: optString(EncodeTags(r.Tags)),
	}, signWith(creds), withHeaders(replicaHeaders(r)))
	return wrapCall(err, "PutObject", r.Bucket, r.Key)
}

// PutDeleteMarker writes a replica of a delete marker.
func (p *Replicas) PutDeleteMarker(ctx context.Context, creds Credentials, r Replica) error {
	r.DeleteMarker = true
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err := p.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(r.Bucket), Key: aws.String(r.Key), Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
	}, signWith(creds), withHeaders(replicaHeaders(r)))
	return wrapCall(err, "PutObject (delete marker)", r.Bucket, r.Key)
}

// PutTags sets the tags of the replica r.VersionID to r.Tags.
func (p *Replicas) PutTags(ctx context.Context, creds Credentials, r Replica) error {
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	set := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(r.Tags[k])})
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err := p.c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(r.Bucket), Key: aws.String(r.Key), VersionId: aws.String(r.VersionID),
		Tagging: &types.Tagging{TagSet: set},
	}, signWith(creds))
	return wrapCall(err, "PutObjectTagging", r.Bucket, r.Key)
}

// PutMultipart writes a replica of an object as a multipart upload, in the
// source's parts when r.PartSizes lists them, otherwise in partSize parts
// (larger when the object needs more than 10,000), aborting the upload
// when a step fails. body holds r.Size bytes.
func (p *Replicas) PutMultipart(ctx context.Context, creds Credentials, r Replica, body io.Reader, partSize int64) error {
	sizes, err := partLayout(r, partSize)
	if err != nil {
		return err
	}
	call := signWith(creds)
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	cu, err := p.c.CreateMultipartUpload(cctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(r.Bucket), Key: aws.String(r.Key),
		ContentType: optString(r.ContentType), CacheControl: optString(r.CacheControl),
		ContentDisposition: optString(r.ContentDisposition), ContentEncoding: optString(r.ContentEncoding),
		ContentLanguage: optString(r.ContentLanguage), Metadata: r.Metadata,
		Tagging: optString(EncodeTags(r.Tags)),
	}, call, withHeaders(replicaHeaders(r)))
	cancel()
	if err != nil {
		return wrapCall(err, "CreateMultipartUpload", r.Bucket, r.Key)
	}
	uploadID := cu.UploadId
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
		defer cancel()
		_, _ = p.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(r.Bucket), Key: aws.String(r.Key), UploadId: uploadID}, call)
	}
	ra, isRA := body.(io.ReaderAt)
	var buf []byte
	var parts []types.CompletedPart
	off := int64(0)
	for i, ln := range sizes {
		n := int32(i + 1)
		var rd io.ReadSeeker
		if isRA {
			rd = io.NewSectionReader(ra, off, ln)
		} else {
			if int64(len(buf)) < ln {
				buf = make([]byte, ln)
			}
			if _, err := io.ReadFull(body, buf[:ln]); err != nil {
				abort()
				return fmt.Errorf("reading the source version: %w", err)
			}
			rd = bytes.NewReader(buf[:ln])
		}
		pctx, cancel := context.WithTimeout(ctx, p.timeout)
		out, err := p.c.UploadPart(pctx, &s3.UploadPartInput{
			Bucket: aws.String(r.Bucket), Key: aws.String(r.Key), UploadId: uploadID, PartNumber: aws.Int32(n),
			Body: rd, ContentLength: aws.Int64(ln),
		}, call)
		cancel()
		if err != nil {
			abort()
			return wrapCall(err, fmt.Sprintf("UploadPart %d", n), r.Bucket, r.Key)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		off += ln
	}
	cctx, cancel = context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err = p.c.CompleteMultipartUpload(cctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(r.Bucket), Key: aws.String(r.Key), UploadId: uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}, call)
	if err != nil {
		abort()
		return wrapCall(err, "CompleteMultipartUpload", r.Bucket, r.Key)
	}
	return nil
}

// partLayout is the part sizes of a multipart replica write: the source's
// parts (which must add up to r.Size), or r.Size cut into partSize parts,
// larger when that would make more than 10,000.
func partLayout(r Replica, partSize int64) ([]int64, error) {
	if len(r.PartSizes) > 0 {
		var total int64
		for _, s := range r.PartSizes {
			total += s
		}
		if total != r.Size || r.PartsCount != len(r.PartSizes) {
			return nil, fmt.Errorf("replica of %s/%s: %d parts of %d bytes in all for an object of %d bytes in %d parts",
				r.Bucket, r.Key, len(r.PartSizes), total, r.Size, r.PartsCount)
		}
		return r.PartSizes, nil
	}
	if min := (r.Size + 9999) / 10000; partSize < min {
		partSize = min
	}
	var sizes []int64
	for off := int64(0); off < r.Size; off += partSize {
		sizes = append(sizes, min(partSize, r.Size-off))
	}
	return sizes, nil
}

// signWith signs a call with creds.
func signWith(c Credentials) func(*s3.Options) {
	prov := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.Secret, SessionToken: c.SessionToken,
			CanExpire: true, Expires: c.Expires, Source: "sos-role-session"}, nil
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

func replicaHeaders(r Replica) http.Header {
	h := http.Header{}
	h.Set(HeaderReplicaVersionID, r.VersionID)
	h.Set(HeaderReplicaLastModified, r.LastModified.UTC().Format(time.RFC3339Nano))
	if r.DeleteMarker {
		h.Set(HeaderReplicaDeleteMarker, "true")
		return h
	}
	h.Set(HeaderReplicaETag, r.ETag)
	if r.PartsCount > 0 {
		h.Set(HeaderReplicaPartsCount, strconv.Itoa(r.PartsCount))
	}
	if r.Expires != "" {
		h.Set("Expires", r.Expires)
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
