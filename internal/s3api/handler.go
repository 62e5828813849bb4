package s3api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sos/internal/meta"
	"strings"
	"time"
	"unicode/utf8"

	"sos/internal/auth/sigv4"
	"sos/internal/bucketname"
	"sos/internal/iam"
	"sos/internal/object"
	"sos/internal/s3err"
)

// RecommendedMaxHeaderBytes is the http.Server MaxHeaderBytes the handler is
// meant to run behind.
const RecommendedMaxHeaderBytes = 64 << 10

// Auth authenticates and authorizes S3 requests (*iam.Authorizer implements
// it).
type Auth interface {
	// Secret returns the signing secret of accessKey. Unknown keys MUST
	// return an error wrapping iam.ErrUnknownKey (or
	// sigv4.ErrInvalidAccessKeyID); bad session tokens iam.ErrInvalidToken
	// or iam.ErrExpiredToken.
	Secret(ctx context.Context, accessKey, sessionToken string) (string, error)
	// Authorize decides whether the signer may do req.
	Authorize(ctx context.Context, accessKey, sessionToken string, req iam.Request) iam.Decision
	// Principal says who the credential stands for.
	Principal(accessKey, sessionToken string) (iam.Principal, error)
}

// Locator knows in which zone a bucket lives (the global bucket namespace).
type Locator interface {
	// BucketZone returns the zone holding bucket and that zone's S3
	// endpoint; ok is false when no zone holds it.
	BucketZone(bucket string) (zone, endpoint string, ok bool)
	// Buckets lists the buckets of every zone (Name, Zone, CreatedAt), for
	// ListBuckets: as in S3, a listing shows all of the account's buckets
	// whatever endpoint it is sent to.
	Buckets() []meta.Bucket
}

// Roles decides the Role of a replication configuration (iam's
// (*Authorizer).PassRole): whether it exists, and whether who may have the
// zone act as it (refusal in words when not).
type Roles interface {
	PassRole(who iam.Principal, roleID string) (exists bool, refusal string)
}

// Options configure New.
type Options struct {
	// Zone is the zone name, also the SigV4 region.
	Zone    string
	Objects Objects
	Auth    Auth
	// Locator, when set, turns NoSuchBucket for a bucket of another zone
	// into 301 PermanentRedirect naming its endpoint.
	Locator Locator
	// Roles, when set, is asked whether the Role of a replication
	// configuration exists and may be named by the caller.
	Roles Roles
	// Replication serves the sos-replication-* extensions; nil answers them
	// with 501 NotImplemented.
	Replication Replication
	// Domains are the host names under which virtual-host style requests
	// "bucket.<domain>" arrive. Ports are ignored, here and in the Host
	// header ("s3.local" and "s3.local:9001" are the same domain), and so
	// is case.
	Domains []string
	// Now is the clock, time.Now when nil.
	Now func() time.Time
	// Logger gets one line per internal error; slog.Default() when nil.
	Logger *slog.Logger
	// Limits bound the requests served at once and the silence of
	// request bodies (defaults when zero).
	Limits Limits
}

// Handler is the S3 HTTP handler of a zone.
type Handler struct {
	zone    string
	objects Objects
	auth    Auth
	locator Locator
	roles   Roles
	repl    Replication
	domains []string
	now     func() time.Time
	log     *slog.Logger
	// verifier checks signatures and caches signing keys.
	verifier *sigv4.Verifier
	limits   Limits
	slots    slots
}

// New returns the S3 handler of a zone.
func New(o Options) http.Handler {
	h := &Handler{
		zone: o.Zone, objects: o.Objects, auth: o.Auth, locator: o.Locator,
		roles: o.Roles, repl: o.Replication, now: o.Now, log: o.Logger, limits: o.Limits,
	}
	if h.limits.MaxRequests <= 0 {
		h.limits.MaxRequests = DefaultMaxRequests
	}
	if h.limits.BodyIdleTimeout <= 0 {
		h.limits.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	h.slots = make(slots, h.limits.MaxRequests)
	for _, d := range o.Domains {
		if d = hostName(strings.TrimSpace(d)); d != "" {
			h.domains = append(h.domains, d)
		}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.verifier = sigv4.NewVerifier(sigv4.Options{Region: h.zone, Service: "s3", Now: h.now, Secrets: h.auth}, 0)
	return h
}

// request is everything a handler needs about one S3 request.
type request struct {
	r         *http.Request
	w         *responseWriter
	op        *operation
	bucket    string
	key       string
	requestID string
	auth      *sigv4.Result
	principal iam.Principal
	// copySrc is the parsed x-amz-copy-source of copies.
	copySrc *copySource
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// responseWriter remembers whether the header was sent, so that an error
// after the body started is logged instead of written.
type responseWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &responseWriter{ResponseWriter: rw}
	req := &request{r: r, w: w, requestID: newRequestID()}
	w.Header().Set("X-Amz-Request-Id", req.requestID)
	w.Header().Set("Server", "sos")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("s3api: panic", "request-id", req.requestID, "method", r.Method,
				"path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			h.writeError(req, s3err.New(s3err.InternalError, ""))
		}
	}()
	// The bounds come first: a request past them costs no signature
	// check, and a body's reads are bounded whoever reads it.
	if !h.slots.acquire() {
		h.writeError(req, h.slowDown())
		return
	}
	defer h.slots.release()
	if r.Body != nil && r.Body != http.NoBody {
		// On a copy of the request: net/http looks at the body of its
		// own after the handler, to drain what is left of it (or not).
		r = r.WithContext(r.Context())
		r.Body = newIdleBody(rw, r, h.limits.BodyIdleTimeout, func() { h.limited(LimitBodyIdleTimeout) })
		req.r = r
	}
	if err := h.serve(req); err != nil {
		h.writeError(req, err)
	}
}

func (h *Handler) serve(req *request) error {
	r := req.r
	if err := h.target(req); err != nil {
		return err
	}
	if req.bucket != "" {
		req.w.Header().Set("X-Amz-Bucket-Region", h.zone)
	}
	if r.Method == http.MethodOptions && req.bucket != "" {
		// A CORS preflight: answered from the bucket's rules, unsigned.
		return h.preflight(req)
	}
	h.corsResponse(req)
	op, err := route(r.Method, req.bucket, req.key, r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	req.op = op
	if err := h.authenticate(req); err != nil {
		return err
	}
	if err := h.checkReplicaHeaders(req); err != nil {
		return err
	}
	if op.notImplemented {
		return s3err.New(s3err.NotImplemented, "sos does not implement "+op.name+".")
	}
	if err := refuseUnimplementedHeaders(r.Header); err != nil {
		return err
	}
	if h.elsewhere(req) {
		// Before authorization, so that a key allowed only some
		// operations still learns where the bucket is (as S3 tells the
		// region of a bucket even on 403). Bucket names are global.
		return fmt.Errorf("%w: %s is in another zone", object.ErrNoSuchBucket, req.bucket)
	}
	if err := h.authorize(req); err != nil {
		return err
	}
	return op.handle(h, req)
}

// elsewhere reports whether a signed request is for a bucket that another
// zone holds (CreateBucket excepted: it gets the registry's answer).
func (h *Handler) elsewhere(req *request) bool {
	if h.locator == nil || req.bucket == "" || req.op.name == "create-bucket" {
		return false
	}
	zone, _, ok := h.locator.BucketZone(req.bucket)
	return ok && zone != h.zone
}

// target finds the bucket and key of a request, path-style or virtual-host
// style, and checks their syntax.
func (h *Handler) target(req *request) error {
	r := req.r
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	host := hostName(r.Host)
	vhostBucket := ""
	for _, d := range h.domains {
		if strings.HasSuffix(host, "."+d) {
			vhostBucket = strings.TrimSuffix(host, "."+d)
			break
		}
	}
	if vhostBucket != "" {
		req.bucket = vhostBucket
		req.key = p[1:]
	} else {
		rest := p[1:]
		b, k, _ := strings.Cut(rest, "/")
		req.bucket, req.key = b, k
	}
	if req.bucket != "" {
		if err := checkBucketName(req.bucket); err != nil {
			return err
		}
	}
	if len(req.key) > object.MaxKeyLength {
		e := s3err.New(s3err.KeyTooLongError, "Your key is too long: at most 1024 bytes are allowed.")
		return e
	}
	if !utf8.ValidString(req.key) {
		return s3err.New(s3err.InvalidURI, "Object keys must be valid UTF-8.")
	}
	return nil
}

// hostName is the host of a Host header or domain without its port, in
// lower case and without a final dot: "Photos.S3.local.:9001" is
// "photos.s3.local", "[::1]:9001" is "::1". Only routing uses it; SigV4
// verifies the Host header as sent.
func hostName(host string) string {
	host = strings.ToLower(host)
	if strings.HasPrefix(host, "[") {
		// An IPv6 literal, with or without a port.
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[1:end]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host, ':') == i {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}

// checkBucketName applies S3's bucket naming rules (bucketname.Check) to
// the bucket a request names: a name that breaks them can name no bucket
// here, since every bucket was created under the same rules.
func checkBucketName(name string) error {
	if err := bucketname.Check(name); err != nil {
		e := s3err.New(s3err.InvalidBucketName, "The specified bucket is not valid: "+err.Error()+".")
		e.BucketName = name
		return e
	}
	return nil
}

func (h *Handler) authenticate(req *request) error {
	res, err := h.verifier.Verify(req.r.Context(), req.r)
	if err != nil {
		return err
	}
	if res.Anonymous {
		return s3err.New(s3err.AccessDenied, "Anonymous requests are not allowed: sign the request with an API key (AWS Signature Version 4).")
	}
	if res.SignatureAtEOF && !req.op.streamsBody {
		// Who signed it is proven only at the body's end: read the body
		// first, so that no handler acts for an unproven signer.
		if err := proveAtEOF(res); err != nil {
			return err
		}
	}
	req.auth = res
	p, err := h.auth.Principal(res.AccessKey, res.SessionToken)
	if err != nil {
		return err
	}
	req.principal = p
	return nil
}

// maxProvenBody bounds the body read whole to verify the signature of a
// request without x-amz-content-sha256 (sigv4.Result.SignatureAtEOF) whose
// operation does not stream its body to the object service: the largest
// XML document sos accepts (a DeleteObjects of 1000 keys).
const maxProvenBody = 4 << 20

// proveAtEOF reads res.Body to its end, which verifies its signature, and
// puts what it read back as the body.
func proveAtEOF(res *sigv4.Result) error {
	b, err := io.ReadAll(io.LimitReader(res.Body, maxProvenBody+1))
	if err != nil {
		return err
	}
	if len(b) > maxProvenBody {
		return s3err.New(s3err.InvalidRequest, fmt.Sprintf(
			"Missing required header for this request: x-amz-content-sha256. Without it sos verifies the signature against the body itself, which it does for object data and for bodies up to %d bytes.", maxProvenBody))
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}

// authorize asks IAM about the operation, and for copies also about reading
// the source.
func (h *Handler) authorize(req *request) error {
	op := req.op
	q := req.r.URL.Query()
	ir := iam.Request{
		Operation: op.name,
		Bucket:    req.bucket,
		Key:       req.key,
		Zone:      h.zone,
		SourceIP:  iam.SourceIP(req.r),
		Now:       h.now(),
	}
	if op.prefixParam {
		ir.Prefix = q.Get("prefix")
	}
	if op.versionParam {
		ir.VersionID = q.Get("versionId")
	}
	if err := h.decide(req, ir); err != nil {
		return err
	}
	if op.copy {
		src, err := parseCopySource(req.r.Header.Get("X-Amz-Copy-Source"))
		if err != nil {
			return err
		}
		req.copySrc = src
		sr := ir
		sr.Operation, sr.Bucket, sr.Key, sr.VersionID, sr.Prefix = "get-object", src.Bucket, src.Key, src.VersionID, ""
		if err := h.decide(req, sr); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) decide(req *request, ir iam.Request) error {
	d := h.auth.Authorize(req.r.Context(), req.auth.AccessKey, req.auth.SessionToken, ir)
	if d.Allowed {
		return nil
	}
	what := ir.Operation
	if ir.Bucket != "" {
		what += " on bucket " + ir.Bucket
		if ir.Key != "" {
			what += ", key " + ir.Key
		}
	}
	msg := "Access Denied: " + what + " is not allowed"
	if why := d.Explain(); why != "" {
		msg += " (" + why + ")"
	}
	e := s3err.New(s3err.AccessDenied, msg+".")
	e.Operation, e.BucketName, e.Key, e.Role, e.Reason = ir.Operation, ir.Bucket, ir.Key, d.Role, d.Reason
	return e
}
