package s3api

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"sos/internal/auth/sigv4"
	"sos/internal/blob"
	"sos/internal/bounded"
	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/replconfig"
	"sos/internal/s3err"
)

// Errors of the handler itself, mapped in errorTable like the others.
var (
	errMalformedXML = errors.New("the XML you provided was not well-formed or did not validate against the schema")
	errReadBody     = errors.New("the request body could not be read")
)

// errorTable is THE mapping from domain errors to S3 error codes. The first
// entry whose error matches (errors.Is) decides.
//
// Typed errors add S3's extra elements (and headers) to their code's
// answer, so that clients read fields instead of the message:
//   - *object.ConditionError: <Condition>, the header that failed;
//   - *object.BucketTakenError (BucketAlreadyExists, a name another zone
//     holds): <BucketName>, <Region> and X-Amz-Bucket-Region name the zone
//     that holds it, as S3 names a bucket's region; a BucketAlreadyExists
//     without a known zone has no X-Amz-Bucket-Region;
//   - *sigv4.WrongRegionError: <Region>, the region expected.
//
// An AccessDenied that the access decision made (Handler.decide) carries
// what was refused as fields: <BucketName> and <Key> (S3's elements), and
// sos's own <SosOperation> (the operation, in kebab-case), <SosRole> (the
// role whose policy decided; absent when no role did, as for an unknown
// key) and <SosReason> (the policy's words: which rule decided, or that
// none matched). S3 clients ignore elements they do not know; sos's CLI
// reads these (through s3client) instead of the message.
//
// A matched error's message is its own text when it wraps the table's
// error with more words, and the code's standard message when it is the
// bare table error; entries marked own keep even the bare error's text,
// for errors whose code is generic (InvalidRequest, AccessDenied, ...)
// and whose text says what S3's own message for that case says.
var errorTable = []struct {
	err  error
	code s3err.Code
}{
	// Object service.
	{object.ErrNoSuchBucket, s3err.NoSuchBucket},
	{object.ErrBucketExists, s3err.BucketAlreadyExists},
	{object.ErrBucketOwnedByYou, s3err.BucketAlreadyOwnedByYou},
	{object.ErrBucketNotEmpty, s3err.BucketNotEmpty},
	{object.ErrInvalidBucketName, s3err.InvalidBucketName},
	{object.ErrNoSuchKey, s3err.NoSuchKey},
	{object.ErrNoSuchVersion, s3err.NoSuchVersion},
	{object.ErrKeyTooLong, s3err.KeyTooLongError},
	{object.ErrMethodNotAllowed, s3err.MethodNotAllowed},
	{object.ErrPreconditionFailed, s3err.PreconditionFailed},
	{object.ErrNotModified, s3err.NotModified},
	{object.ErrInvalidRange, s3err.InvalidRange},
	{object.ErrBadDigest, s3err.BadDigest},
	{object.ErrInvalidDigest, s3err.InvalidDigest},
	{object.ErrEntityTooLarge, s3err.EntityTooLarge},
	{object.ErrEntityTooSmall, s3err.EntityTooSmall},
	{object.ErrIncompleteBody, s3err.IncompleteBody},
	{object.ErrNoSuchUpload, s3err.NoSuchUpload},
	{object.ErrInvalidPart, s3err.InvalidPart},
	{object.ErrInvalidPartOrder, s3err.InvalidPartOrder},
	{object.ErrInvalidArgument, s3err.InvalidArgument},
	{object.ErrInvalidTag, s3err.InvalidTag},
	{object.ErrInvalidRequest, s3err.InvalidRequest},
	{object.ErrReplicationConfigNotFound, s3err.ReplicationConfigurationNotFoundError},
	{object.ErrNoSuchCORSConfiguration, s3err.NoSuchCORSConfiguration},
	{object.ErrNoSuchTagSet, s3err.NoSuchTagSet},
	{object.ErrMalformedConfig, s3err.MalformedXML},
	{object.ErrInvalidStorageState, s3err.InvalidBucketState},
	{object.ErrMetadataTooLarge, s3err.MetadataTooLarge},
	{object.ErrUnavailable, s3err.ServiceUnavailable},
	{object.ErrMalformedPartList, s3err.MalformedXML},

	// A body that stopped sending, whoever was reading it (before the
	// body errors of SigV4 and of the handler, which it would match).
	{errRequestTimeout, s3err.RequestTimeout},
	// Storage that cannot take a write now: 503 as S3 answers when it
	// cannot serve for a while (S3 has no 507). Their answers open with
	// storageWords.
	{blob.ErrNoSpace, s3err.ServiceUnavailable},
	{meta.ErrStoreFailed, s3err.ServiceUnavailable},

	// SigV4. The body errors come first: they surface through object
	// service calls that read the body.
	{sigv4.ErrContentSHA256Mismatch, s3err.XAmzContentSHA256Mismatch},
	{sigv4.ErrIncompleteBody, s3err.IncompleteBody},
	{sigv4.ErrMalformedChunk, s3err.IncompleteBody},
	{sigv4.ErrMalformedTrailer, s3err.MalformedTrailerError},
	{sigv4.ErrInvalidAccessKeyID, s3err.InvalidAccessKeyID},
	{sigv4.ErrInvalidToken, s3err.InvalidToken},
	{sigv4.ErrExpiredToken, s3err.ExpiredToken},
	{sigv4.ErrSignatureDoesNotMatch, s3err.SignatureDoesNotMatch},
	{sigv4.ErrAuthorizationHeaderMalformed, s3err.AuthorizationHeaderMalformed},
	{sigv4.ErrAuthorizationQueryParametersError, s3err.AuthorizationQueryParametersError},
	{sigv4.ErrUnsupportedAlgorithm, s3err.InvalidRequest},
	{sigv4.ErrRequestTimeTooSkewed, s3err.RequestTimeTooSkewed},
	{sigv4.ErrRequestExpired, s3err.AccessDenied},
	{sigv4.ErrRequestNotYetValid, s3err.AccessDenied},
	{sigv4.ErrMissingDateHeader, s3err.AccessDenied},
	{sigv4.ErrUnsignedHeaders, s3err.AccessDenied},
	{sigv4.ErrInvalidContentSHA256, s3err.InvalidArgument},

	// IAM (through Auth.Secret and Auth.Principal).
	{iam.ErrUnknownKey, s3err.InvalidAccessKeyID},
	{iam.ErrInvalidToken, s3err.InvalidToken},
	{iam.ErrExpiredToken, s3err.ExpiredToken},

	// Request bodies decoded within limits (before replconfig, which
	// wraps them in its ErrMalformed).
	{bounded.ErrTooLarge, s3err.MaxMessageLengthExceeded},
	{bounded.ErrTooDeep, s3err.MalformedXML},
	{bounded.ErrTooMany, s3err.MalformedXML},
	{bounded.ErrEmpty, s3err.MalformedXML},
	{bounded.ErrMalformed, s3err.MalformedXML},

	// Replication configurations.
	{replconfig.ErrMalformed, s3err.MalformedXML},
	{replconfig.ErrInvalid, s3err.InvalidArgument},

	// The handler's own.
	{errMalformedXML, s3err.MalformedXML},
	{errReadBody, s3err.IncompleteBody},
}

// ownWords are table errors whose code is generic (InvalidRequest,
// AccessDenied, ...) and whose own text says what S3's message says for
// that case: bare, they keep it instead of the code's standard message.
var ownWords = []error{
	sigv4.ErrMalformedChunk, sigv4.ErrUnsupportedAlgorithm, sigv4.ErrRequestExpired,
	sigv4.ErrRequestNotYetValid, sigv4.ErrMissingDateHeader, sigv4.ErrUnsignedHeaders,
	sigv4.ErrInvalidContentSHA256,
}

// errorWithHeaders is an error whose response also carries headers, such
// as the ETag and Last-Modified of a 304 Not Modified.
type errorWithHeaders struct {
	err error
	hdr http.Header
}

func (e *errorWithHeaders) Error() string { return e.err.Error() }
func (e *errorWithHeaders) Unwrap() error { return e.err }

// storageWords opens the message of a storage error (the error's own words,
// the cause, follow): what the client may expect of the zone.
var storageWords = map[error]string{
	blob.ErrNoSpace:     "This zone's disk is full: it refuses writes until space is freed and serves reads meanwhile",
	meta.ErrStoreFailed: "This zone's metadata store failed: the zone stops and serves again once it is restarted",
}

// toS3Error turns any error into the S3 error to send. ok is false for an
// error the table does not know (an internal error).
func toS3Error(err error) (*s3err.Error, bool) {
	var se *s3err.Error
	if errors.As(err, &se) {
		c := *se
		return &c, true
	}
	for _, m := range errorTable {
		if errors.Is(err, m.err) {
			e := s3err.New(m.code, "")
			if err.Error() != m.err.Error() || slices.Contains(ownWords, m.err) {
				e.Message = sentence(err.Error())
			}
			var wr *sigv4.WrongRegionError
			if errors.As(err, &wr) {
				e.Region = wr.Expected
			}
			var xe *xml.SyntaxError
			if errors.As(err, &xe) {
				e.Message = sentence(err.Error())
			}
			var ce *object.ConditionError
			if errors.As(err, &ce) {
				e.Message, e.Condition = m.code.Message(), ce.Header
			}
			var bt *object.BucketTakenError
			if errors.As(err, &bt) {
				e.BucketName, e.Region = bt.Bucket, bt.Zone
			}
			var rt *requestTimeoutError
			if errors.As(err, &rt) {
				// In its own words, whatever layers wrapped it.
				e.Message = rt.Error()
			}
			if lead, ok := storageWords[m.err]; ok {
				e.Message = sentence(lead) + " " + sentence(err.Error())
			}
			return e, true
		}
	}
	return s3err.New(s3err.InternalError, ""), false
}

// sentence makes an error text read as a sentence: capital first letter,
// final period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// writeError is THE place that writes error responses.
func (h *Handler) writeError(req *request, err error) {
	e, known := toS3Error(err)
	if !known {
		h.log.Error("s3api: internal error", "request-id", req.requestID, "method", req.r.Method,
			"path", req.r.URL.Path, "err", err)
	}
	w := req.w
	if w.wrote {
		h.log.Warn("s3api: error after the response started", "request-id", req.requestID, "err", err)
		return
	}
	hdr := w.Header()
	if e.Code == s3err.RequestTimeout {
		// The rest of the body may never come: this connection is done.
		hdr.Set("Connection", "close")
	}
	switch e.Code {
	case s3err.NoSuchBucket, s3err.BucketNotEmpty, s3err.BucketAlreadyExists, s3err.BucketAlreadyOwnedByYou, s3err.InvalidBucketName:
		if e.BucketName == "" {
			e.BucketName = req.bucket
		}
	case s3err.NoSuchKey:
		e.Key = req.key
	case s3err.NoSuchVersion:
		e.Key, e.VersionID = req.key, req.r.URL.Query().Get("versionId")
	case s3err.NoSuchUpload:
		e.UploadID = req.r.URL.Query().Get("uploadId")
	}
	if e.Code == s3err.BucketAlreadyExists {
		// The bucket is not here: X-Amz-Bucket-Region names the zone that
		// holds it when the registry said, and no zone otherwise.
		if e.Region != "" {
			hdr.Set("X-Amz-Bucket-Region", e.Region)
		} else {
			hdr.Del("X-Amz-Bucket-Region")
		}
	}
	if e.Code == s3err.NoSuchBucket && h.locator != nil && req.bucket != "" {
		if zone, endpoint, ok := h.locator.BucketZone(req.bucket); ok && zone != h.zone {
			e = s3err.New(s3err.PermanentRedirect, fmt.Sprintf(
				"The bucket %s is in zone %s: send requests for it to %s.", req.bucket, zone, endpoint))
			e.BucketName, e.Endpoint, e.Region = req.bucket, endpoint, zone
			hdr.Set("X-Amz-Bucket-Region", zone)
		}
	}
	e.RequestID = req.requestID
	e.Resource = req.r.URL.Path
	for _, k := range []string{"Content-Length", "Content-Range", "Content-Type", "Etag", "Last-Modified", "Accept-Ranges"} {
		hdr.Del(k)
	}
	var wh *errorWithHeaders
	if errors.As(err, &wh) {
		for k, vs := range wh.hdr {
			hdr[k] = vs
		}
	}
	// A GET or HEAD that hit a delete marker says so, as S3 does: 404 with
	// the marker's version, or 405 (by version ID) with Allow: DELETE.
	var dm *object.DeleteMarkerError
	if errors.As(err, &dm) {
		hdr.Set("X-Amz-Delete-Marker", "true")
		setVersionHeader(hdr, dm.Info.VersionID)
		if errors.Is(dm.Err, object.ErrMethodNotAllowed) {
			hdr.Set("Allow", "DELETE")
			if !dm.Info.LastModified.IsZero() {
				hdr.Set("Last-Modified", dm.Info.LastModified.UTC().Format(http.TimeFormat))
			}
		}
	}
	if e.Code == s3err.NotModified || req.r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body := e.XML()
	hdr.Set("Content-Type", "application/xml")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
