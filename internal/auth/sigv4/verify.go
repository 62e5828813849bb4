package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Secrets looks up the secret key of an access key. It is owned by the
// caller of Verify (the zone keeps the keys it learns from the control plane).
//
// Contract: an unknown access key MUST return an error wrapping
// ErrInvalidAccessKeyID. sessionToken is the request's X-Amz-Security-Token
// (header or presigned query), "" when absent; an implementation that issues
// temporary credentials MUST check it and return an error wrapping
// ErrInvalidToken or ErrExpiredToken when it does not belong to the key, and
// one that does not MUST reject a non-empty token with ErrInvalidToken.
// Other errors are passed through unchanged (treated as internal errors).
type Secrets interface {
	Secret(ctx context.Context, accessKey, sessionToken string) (secret string, err error)
}

// SecretsFunc adapts a function to Secrets.
type SecretsFunc func(ctx context.Context, accessKey, sessionToken string) (string, error)

// Secret calls f.
func (f SecretsFunc) Secret(ctx context.Context, accessKey, sessionToken string) (string, error) {
	return f(ctx, accessKey, sessionToken)
}

// Options configure Verify.
type Options struct {
	// Region is the zone name; the credential scope must name it.
	Region string
	// Service is the scope's service, "s3" when empty.
	Service string
	// Now is the clock, time.Now when nil.
	Now func() time.Time
	// MaxSkew is the largest accepted difference between the request time
	// and Now for header-signed requests, 15 minutes when zero.
	MaxSkew time.Duration
	// Secrets returns the secret of an access key. Required.
	Secrets Secrets
}

// Result is the outcome of a successful Verify.
type Result struct {
	// Anonymous is true when the request carries no authentication at all;
	// the caller decides (S3 denies unless a policy allows anonymous access).
	Anonymous bool
	// Presigned is true for a presigned URL (query authentication).
	Presigned bool
	// AccessKey and SessionToken identify the signer.
	AccessKey    string
	SessionToken string
	// SignedAt is the request time (X-Amz-Date).
	SignedAt time.Time
	// Expires is when a presigned URL stops being valid (zero otherwise).
	Expires time.Time
	// ContentSHA256 is the payload hash the request declared: a hex SHA-256,
	// UNSIGNED-PAYLOAD or one of the STREAMING-* markers ("" when absent).
	ContentSHA256 string
	// DecodedContentLength is the length of the object data Body yields:
	// x-amz-decoded-content-length for aws-chunked bodies, Content-Length
	// otherwise, -1 when unknown.
	DecodedContentLength int64
	// SignatureAtEOF is true when the request's signature itself is
	// verified only at the body's end (a header-signed request without
	// x-amz-content-sha256, whose signature covers the body's hash): until
	// Body's final Read returned io.EOF, who sent it is not proven, so
	// nothing may be done on its behalf, not just nothing committed.
	SignatureAtEOF bool
	// Body yields the payload, decoded from aws-chunked if needed. Its final
	// Read returns io.EOF only after the payload hash, every chunk signature,
	// the trailer signature and the decoded length are verified; otherwise
	// it returns an error wrapping ErrContentSHA256Mismatch,
	// ErrSignatureDoesNotMatch, ErrIncompleteBody, ErrMalformedChunk or
	// ErrMalformedTrailer. Read it to EOF before committing anything. Closing
	// it closes the request body.
	Body io.ReadCloser

	chunked *chunkedReader
}

// Trailer returns the trailing headers of an aws-chunked body (for example
// X-Amz-Checksum-Crc32c), available once Body has returned io.EOF; nil before
// that and for bodies without trailers. The values are not checked here: the
// object layer verifies checksums against the data.
func (r *Result) Trailer() http.Header {
	if r == nil || r.chunked == nil || r.chunked.state != stDone {
		return nil
	}
	return r.chunked.trailer
}

func (o *Options) defaults() {
	if o.Service == "" {
		o.Service = "s3"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 15 * time.Minute
	}
}

// Verify authenticates r. It returns Result{Anonymous: true} for a request
// without any authentication, an error wrapping one of the sentinel errors
// for a request that is not correctly signed, and otherwise a Result whose
// Body the caller reads instead of r.Body. r is not modified.
func Verify(ctx context.Context, r *http.Request, o Options) (*Result, error) {
	return verify(ctx, r, o, nil)
}

// verify is Verify with signing keys from keys (derived each time when nil).
func verify(ctx context.Context, r *http.Request, o Options, keys *keyCache) (*Result, error) {
	o.defaults()
	if o.Secrets == nil {
		return nil, errors.New("sigv4: Options.Secrets is required")
	}
	if o.Region == "" {
		return nil, errors.New("sigv4: Options.Region is required")
	}
	q := r.URL.Query()
	authz := r.Header.Values("Authorization")
	presigned := q.Has(queryAlgorithm) || q.Has(queryCredential) || q.Has(querySignature)
	switch {
	case len(authz) > 0 && presigned:
		return nil, fmt.Errorf("%w: only one auth mechanism allowed; use either the Authorization header or the X-Amz-* query parameters", ErrAuthorizationQueryParametersError)
	case len(authz) > 1:
		return nil, fmt.Errorf("%w: more than one Authorization header", ErrAuthorizationHeaderMalformed)
	case len(authz) == 1:
		return verifyHeader(ctx, r, authz[0], o, keys)
	case presigned:
		return verifyPresigned(ctx, r, q, o, keys)
	case q.Has("AWSAccessKeyId") && q.Has("Signature"):
		return nil, fmt.Errorf("%w: Signature Version 2 presigned URLs are not accepted", ErrUnsupportedAlgorithm)
	}
	res := &Result{Anonymous: true}
	if err := wrapPayload(r, res, nil); err != nil {
		return nil, err
	}
	return res, nil
}

func verifyHeader(ctx context.Context, r *http.Request, authz string, o Options, keys *keyCache) (*Result, error) {
	a, err := parseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	if err := checkScope(a.Credential, o, false); err != nil {
		return nil, err
	}
	t, amzDate, err := requestDate(r)
	if err != nil {
		return nil, err
	}
	if d := t.Format(scopeDateFormat); d != a.Credential.Day {
		return nil, fmt.Errorf("%w: the credential date %s does not match the request date %s", ErrAuthorizationHeaderMalformed, a.Credential.Day, d)
	}
	if skew := o.Now().Sub(t).Abs(); skew > o.MaxSkew {
		return nil, fmt.Errorf("%w: request time %s differs from server time %s by %s, more than %s",
			ErrRequestTimeTooSkewed, t.Format(amzDateFormat), o.Now().UTC().Format(amzDateFormat), skew.Round(time.Second), o.MaxSkew)
	}
	payload := r.Header.Get(headerAmzContentSHA256)
	if payload != "" {
		if err := checkPayloadMarker(payload); err != nil {
			return nil, err
		}
	}
	if err := checkUnsigned(r, a.SignedHeaders, false); err != nil {
		return nil, err
	}
	token := r.Header.Get(headerAmzSecurityToken)
	secret, err := o.Secrets.Secret(ctx, a.Credential.AccessKey, token)
	if err != nil {
		return nil, err
	}
	key := keys.signingKey(secret, a.Credential.Day, a.Credential.Region, a.Credential.Service)
	sc := a.Credential.scope()
	check := func(payload string) error {
		creq := canonicalRequest(r.Method, canonicalURI(r.URL), canonicalQuery(r.URL.RawQuery, ""),
			canonicalHeaders(r, a.SignedHeaders), a.SignedHeaders, payload)
		sts := stringToSign(amzDate, sc, creq)
		if !equalSignature(signString(key, sts), a.Signature) {
			return &SignatureMismatchError{AccessKey: a.Credential.AccessKey, StringToSign: sts, CanonicalRequest: creq}
		}
		return nil
	}
	if payload == "" {
		// No x-amz-content-sha256 (curl's --aws-sigv4 sends none): the
		// client signed the hash of the body it sends, which is known
		// only at the body's end.
		return verifyAtEOF(r, a, t, token, check)
	}
	if err := check(payload); err != nil {
		return nil, err
	}
	res := &Result{
		AccessKey:     a.Credential.AccessKey,
		SessionToken:  token,
		SignedAt:      t,
		ContentSHA256: payload,
	}
	seed := &chunkSigner{key: key, amzDate: amzDate, scope: sc, prev: a.Signature}
	if err := wrapPayload(r, res, seed); err != nil {
		return nil, err
	}
	return res, nil
}

// verifyAtEOF verifies a header-signed request without
// x-amz-content-sha256. curl's --aws-sigv4 (7.88) signs the SHA-256 of the
// data it was given on its command line (-d) and, for a body it streams
// (-T), of nothing. So: a signature over the empty payload authenticates
// the request at once, and the body, if any, is then as unsigned as with
// UNSIGNED-PAYLOAD (curl -T); any other signature is verified against the
// SHA-256 of the body the request carries, in the final Read of
// Result.Body (Result.SignatureAtEOF), which returns the signature
// mismatch instead of io.EOF.
func verifyAtEOF(r *http.Request, a authorization, t time.Time, token string, check func(payload string) error) (*Result, error) {
	res := &Result{
		AccessKey:            a.Credential.AccessKey,
		SessionToken:         token,
		SignedAt:             t,
		DecodedContentLength: r.ContentLength,
	}
	bodyless := r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0)
	err := check(EmptySHA256)
	switch {
	case err == nil && bodyless:
		res.ContentSHA256 = EmptySHA256
		res.Body = http.NoBody
		return res, nil
	case err == nil:
		res.ContentSHA256 = UnsignedPayload
		res.Body = r.Body
		return res, nil
	case bodyless:
		return nil, err
	}
	res.SignatureAtEOF = true
	res.Body = &eofSignatureReader{src: r.Body, h: sha256.New(), check: check}
	return res, nil
}

func verifyPresigned(ctx context.Context, r *http.Request, q url.Values, o Options, keys *keyCache) (*Result, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrAuthorizationQueryParametersError}, args...)...)
	}
	for _, k := range []string{queryAlgorithm, queryCredential, queryDate, queryExpires, querySignedHeaders, querySignature} {
		if len(q[k]) != 1 {
			return nil, bad("query-string authentication requires exactly one %s parameter", k)
		}
	}
	if alg := q.Get(queryAlgorithm); alg != Algorithm {
		return nil, fmt.Errorf("%w: X-Amz-Algorithm only supports %q, not %q", ErrUnsupportedAlgorithm, Algorithm, truncate(alg, 40))
	}
	cred, err := parseCredential(q.Get(queryCredential))
	if err != nil {
		return nil, bad("error parsing the X-Amz-Credential parameter: %v", err)
	}
	if err := checkScope(cred, o, true); err != nil {
		return nil, err
	}
	amzDate := q.Get(queryDate)
	t, ok := parseAmzDate(amzDate)
	if !ok {
		return nil, bad("X-Amz-Date must be in the ISO8601 long format yyyyMMdd'T'HHmmss'Z', not %q", truncate(amzDate, 40))
	}
	if d := t.Format(scopeDateFormat); d != cred.Day {
		return nil, bad("the X-Amz-Credential date %s does not match X-Amz-Date %s", cred.Day, d)
	}
	expStr := q.Get(queryExpires)
	exp, err := strconv.ParseInt(expStr, 10, 64)
	switch {
	case err != nil:
		return nil, bad("X-Amz-Expires should be a number, not %q", truncate(expStr, 40))
	case exp < 0:
		return nil, bad("X-Amz-Expires must be non-negative")
	case exp > int64(maxPresignExpires/time.Second):
		return nil, bad("X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	signed, err := parseSignedHeaders(q.Get(querySignedHeaders))
	if err != nil {
		return nil, bad("%v", err)
	}
	sig, err := parseSignature(q.Get(querySignature))
	if err != nil {
		return nil, bad("X-Amz-Signature: %v", err)
	}
	now := o.Now()
	expires := t.Add(time.Duration(exp) * time.Second)
	if t.Sub(now) > o.MaxSkew {
		return nil, fmt.Errorf("%w: the URL is dated %s, in the future", ErrRequestNotYetValid, amzDate)
	}
	if now.After(expires) {
		return nil, fmt.Errorf("%w: the URL expired at %s", ErrRequestExpired, expires.UTC().Format(amzDateFormat))
	}
	payload := UnsignedPayload
	if v := q.Get(queryContentSHA256); v != "" {
		payload = v
	}
	if err := checkPayloadMarker(payload); err != nil {
		return nil, err
	}
	if err := checkUnsigned(r, signed, true); err != nil {
		return nil, err
	}
	token := q.Get(querySecurityToken)
	secret, err := o.Secrets.Secret(ctx, cred.AccessKey, token)
	if err != nil {
		return nil, err
	}
	key := keys.signingKey(secret, cred.Day, cred.Region, cred.Service)
	sc := cred.scope()
	creq := canonicalRequest(r.Method, canonicalURI(r.URL), canonicalQuery(r.URL.RawQuery, querySignature),
		canonicalHeaders(r, signed), signed, payload)
	sts := stringToSign(amzDate, sc, creq)
	if !equalSignature(signString(key, sts), sig) {
		return nil, &SignatureMismatchError{AccessKey: cred.AccessKey, StringToSign: sts, CanonicalRequest: creq}
	}
	res := &Result{
		Presigned:     true,
		AccessKey:     cred.AccessKey,
		SessionToken:  token,
		SignedAt:      t,
		Expires:       expires,
		ContentSHA256: payload,
	}
	seed := &chunkSigner{key: key, amzDate: amzDate, scope: sc, prev: sig}
	if err := wrapPayload(r, res, seed); err != nil {
		return nil, err
	}
	return res, nil
}

// checkScope checks the region and service of the credential scope.
func checkScope(c credential, o Options, presigned bool) error {
	if c.Region != o.Region {
		return &WrongRegionError{Region: c.Region, Expected: o.Region, Presigned: presigned}
	}
	if c.Service != o.Service {
		sentinel := ErrAuthorizationHeaderMalformed
		if presigned {
			sentinel = ErrAuthorizationQueryParametersError
		}
		return fmt.Errorf("%w: the service '%s' is wrong; expecting '%s'", sentinel, truncate(c.Service, 40), o.Service)
	}
	return nil
}

// requestDate returns the time of a header-signed request from X-Amz-Date, or
// from Date when X-Amz-Date is absent, with the ISO 8601 form used in the
// string to sign.
func requestDate(r *http.Request) (time.Time, string, error) {
	if v := r.Header.Get(headerAmzDate); v != "" {
		t, ok := parseAmzDate(v)
		if !ok {
			return time.Time{}, "", fmt.Errorf("%w: x-amz-date %q is not in the form 20060102T150405Z", ErrMissingDateHeader, truncate(v, 40))
		}
		return t, v, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("%w: Date %q is not an HTTP date", ErrMissingDateHeader, truncate(v, 40))
		}
		t = t.UTC()
		return t, t.Format(amzDateFormat), nil
	}
	return time.Time{}, "", ErrMissingDateHeader
}

func checkPayloadMarker(v string) error {
	switch v {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		return nil
	}
	if isHexSHA256(v) {
		return nil
	}
	return fmt.Errorf("%w: got %q", ErrInvalidContentSHA256, truncate(v, 80))
}

// checkUnsigned rejects x-amz-* headers that are present but not signed: they
// would otherwise change the meaning of a request without breaking its
// signature. x-amz-content-sha256 and x-amz-date are covered by the string to
// sign of a header-signed request; a presigned request ignores the
// x-amz-content-sha256 header (its payload hash comes from the query).
func checkUnsigned(r *http.Request, signed []string, presigned bool) error {
	var missing []string
	for name := range r.Header {
		lname := strings.ToLower(name)
		if !strings.HasPrefix(lname, "x-amz-") {
			continue
		}
		if lname == "x-amz-content-sha256" || (!presigned && lname == "x-amz-date") {
			continue
		}
		found := false
		for _, s := range signed {
			if s == lname {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, lname)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrUnsignedHeaders, strings.Join(missing, ", "))
	}
	return nil
}

func equalSignature(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// wrapPayload sets res.Body and res.DecodedContentLength from the declared
// payload hash. seed is nil for anonymous requests.
func wrapPayload(r *http.Request, res *Result, seed *chunkSigner) error {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	mode := res.ContentSHA256
	if seed == nil {
		// Anonymous: honour an x-amz-content-sha256 the client sent anyway.
		mode = r.Header.Get(headerAmzContentSHA256)
		if mode != "" {
			if err := checkPayloadMarker(mode); err != nil {
				return err
			}
		}
		res.ContentSHA256 = mode
	}
	res.DecodedContentLength = r.ContentLength
	switch mode {
	case "", UnsignedPayload:
		res.Body = body
		return nil
	case StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
	default:
		res.Body = newHashReader(body, mode)
		return nil
	}
	signed := mode != StreamingUnsignedTrailer
	if signed && seed == nil {
		return fmt.Errorf("%w: %s requires a signed request", ErrAuthorizationHeaderMalformed, mode)
	}
	decoded := int64(-1)
	if v := r.Header.Get(headerAmzDecodedLength); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: x-amz-decoded-content-length %q is not a length", ErrMalformedChunk, truncate(v, 40))
		}
		decoded = n
	}
	res.DecodedContentLength = decoded
	opts := chunkedOptions{DecodedLength: decoded}
	if mode != StreamingPayload {
		opts.Trailers = true
		opts.DeclaredTrailers = declaredTrailers(r.Header.Values(headerAmzTrailer))
	}
	if signed {
		opts.Signer = seed
	}
	cr := newChunkedReader(body, opts)
	res.chunked = cr
	res.Body = cr
	return nil
}

func declaredTrailers(values []string) []string {
	var out []string
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}
