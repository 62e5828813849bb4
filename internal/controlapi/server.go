package controlapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"sos/internal/auth/exo2"
	"sos/internal/bounded"
	"sos/internal/control"
	"sos/internal/iam"
)

// Options tunes New.
type Options struct {
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock for signature expiry; nil means the plane's clock.
	Now func() time.Time
	// MaxBodyBytes bounds request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// MaxSignatureAhead bounds how far ahead an EXO2 expiry may be; 0 means exo2.DefaultMaxAhead.
	MaxSignatureAhead time.Duration
	// MaxWait bounds the long-poll of the internal snapshot endpoint; 0 means 60s.
	MaxWait time.Duration
}

// DefaultSnapshotWait is the long-poll wait when the request does not say.
const DefaultSnapshotWait = 25 * time.Second

type server struct {
	plane    *control.Plane
	logger   *slog.Logger
	now      func() time.Time
	maxBody  int64
	maxAhead time.Duration
	maxWait  time.Duration
	replays  *exo2.Replays
}

// New returns the handler of API v2 (/v2/...) and of the internal zone API
// (/internal/v1/...) over plane.
func New(plane *control.Plane, opts Options) http.Handler {
	s := &server{
		plane:    plane,
		logger:   opts.Logger,
		now:      opts.Now,
		maxBody:  opts.MaxBodyBytes,
		maxAhead: opts.MaxSignatureAhead,
		maxWait:  opts.MaxWait,
		replays:  exo2.NewReplays(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = plane.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	if s.maxWait <= 0 {
		s.maxWait = 60 * time.Second
	}

	mux := http.NewServeMux()
	// API v2. v2 routes take the operation the caller's policy must allow
	// for service "iam" (v2sos: "sos"; "" = any valid key). v2Target routes
	// act on a role or key named in the path or body: their handler calls
	// s.authorize with it (as control.Access) before it changes anything.
	// The zone list is public, as Exoscale's is: clients (and readiness
	// checks) learn the endpoints before they have a key.
	mux.Handle("GET /v2/zone", s.public(s.listZones))
	mux.Handle("POST /v2/iam-role", s.v2Target(s.createRole))
	mux.Handle("GET /v2/iam-role", s.v2("list-iam-roles", s.listRoles))
	mux.Handle("GET /v2/iam-role/{id}", s.v2Target(s.getRole))
	mux.Handle("PUT /v2/iam-role/{id}", s.v2Target(s.updateRole))
	mux.Handle("DELETE /v2/iam-role/{id}", s.v2Target(s.deleteRole))
	mux.Handle("GET /v2/operation/{id}", s.v2("", s.getOperation))
	mux.Handle("POST /v2/api-key", s.v2Target(s.createKey))
	mux.Handle("GET /v2/api-key", s.v2("list-api-keys", s.listKeys))
	mux.Handle("GET /v2/api-key/{key}", s.v2Target(s.getKey))
	mux.Handle("DELETE /v2/api-key/{key}", s.v2Target(s.deleteKey))
	mux.Handle("GET /v2/sos-buckets-usage", s.v2sos("list-sos-buckets-usage", s.bucketsUsage))
	mux.Handle("/v2/", s.v2("", func(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
		return httpErrorf(http.StatusNotFound, "no API v2 endpoint %s %s", r.Method, r.URL.Path)
	}))

	// Internal zone API.
	mux.Handle("GET /internal/v1/snapshot", s.internal(s.snapshot))
	mux.Handle("POST /internal/v1/buckets", s.internal(s.registerBucket))
	mux.Handle("DELETE /internal/v1/buckets/{name}", s.internal(s.unregisterBucket))
	mux.Handle("POST /internal/v1/role-credentials", s.internal(s.roleCredentials))
	mux.Handle("PUT /internal/v1/usage", s.internal(s.reportUsage))
	mux.Handle("/internal/", s.internal(func(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
		return httpErrorf(http.StatusNotFound, "no internal endpoint %s %s", r.Method, r.URL.Path)
	}))
	return mux
}

// reqContext is what the auth wrappers learned about a request.
type reqContext struct {
	body      []byte
	principal control.Principal // API v2
	zone      string            // internal API
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, rc *reqContext) error

// AuthError is a refused API v2 or internal-API request (no role, a policy
// that denies, a bad zone token). Its message is meant for the person who
// sent the request; writeError answers it with 403, as it answers a refused
// signature (*exo2.Error).
type AuthError struct {
	Message string
}

func (e *AuthError) Error() string { return e.Message }

// httpError is an error with an HTTP status and extra JSON fields.
type httpError struct {
	status int
	msg    string
	extra  map[string]any
}

func (e *httpError) Error() string { return e.msg }

func httpErrorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// writeError is the one place that turns an error into an HTTP answer.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := http.StatusInternalServerError, map[string]any{}
	var (
		he  *httpError
		ae  *AuthError
		xe  *exo2.Error
		pe  *iam.PolicyError
		ce  *control.Error
		bae *control.BucketAlreadyExistsError
		bao *control.BucketAlreadyOwnedByYouError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &he):
		status = he.status
		for k, v := range he.extra {
			body[k] = v
		}
		body["message"] = he.msg
	case errors.As(err, &ae):
		status = http.StatusForbidden
		body["message"] = ae.Message
	case errors.As(err, &xe):
		status = http.StatusForbidden
		body["message"] = xe.Message
		if xe.Code != "" {
			body["code"] = xe.Code
		}
	case errors.As(err, &pe):
		status = http.StatusBadRequest
		body["message"] = "invalid policy: " + pe.Error()
	case errors.As(err, &bae):
		status = http.StatusConflict
		body["code"] = "BucketAlreadyExists"
		body["zone"] = bae.Zone
		body["message"] = bae.Error()
	case errors.As(err, &bao):
		status = http.StatusConflict
		body["code"] = "BucketAlreadyOwnedByYou"
		body["zone"] = bao.Zone
		body["message"] = bao.Error()
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
		body["message"] = fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &ce):
		body["message"] = ce.Message
		if ce.Field != "" {
			body["field"] = ce.Field
		}
		switch {
		case errors.Is(err, control.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, control.ErrConflict):
			status = http.StatusConflict
		case errors.Is(err, control.ErrInvalid), errors.Is(err, control.ErrNotEditable):
			status = http.StatusBadRequest
		}
	case r.Context().Err() != nil:
		status = 499 // client went away; nobody reads this
		body["message"] = "request canceled"
	default:
		s.logger.Error("control API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body["message"] = "internal error: " + err.Error()
	}
	if status == http.StatusForbidden {
		s.logger.Info("control API request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", body["message"])
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		buf = []byte(`{"message":"internal error: encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(buf)+1))
	w.WriteHeader(status)
	w.Write(append(buf, '\n'))
}

// readBody reads the whole body within the size limit.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
}

// public wraps an API v2 handler that needs no authentication.
func (s *server) public(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r, &reqContext{}); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// v2 wraps an API v2 handler: body read, EXO2 verified, and, when iamOp is
// not empty, the caller's role allowed to do iamOp on service "iam".
func (s *server) v2(iamOp string, h handlerFunc) http.Handler {
	return s.v2Service(iam.ServiceIAM, iamOp, h)
}

// v2sos is v2 for an operation of service "sos".
func (s *server) v2sos(op string, h handlerFunc) http.Handler {
	return s.v2Service(iam.ServiceSOS, op, h)
}

func (s *server) v2Service(service, op string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, err := s.authenticate(w, r)
		if err == nil && op != "" {
			err = s.authorize(r, rc, control.Access{Service: service, Operation: op})
		}
		if err == nil {
			err = h(w, r, rc)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// v2Target wraps an API v2 handler of an IAM operation on a role or key: body
// read and EXO2 verified; the handler authorizes (s.authorize) once it
// knows the operation's target, before it changes anything.
func (s *server) v2Target(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, err := s.authenticate(w, r)
		if err == nil {
			err = h(w, r, rc)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *server) authenticate(w http.ResponseWriter, r *http.Request) (*reqContext, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	var who control.Principal
	_, err = exo2.Verify(r, body, exo2.VerifyOptions{
		Now:      s.now(),
		MaxAhead: s.maxAhead,
		Replays:  s.replays,
		Secret: func(key string) (string, bool) {
			secret, p, ok := s.plane.LookupKey(key)
			who = p
			return secret, ok
		},
	})
	if err != nil {
		return nil, err
	}
	return &reqContext{body: body, principal: who}, nil
}

// authorize asks the plane whether the caller may do a (service "iam"
// unless a says otherwise), from this request's address and time.
func (s *server) authorize(r *http.Request, rc *reqContext, a control.Access) error {
	if a.Service == "" {
		a.Service = iam.ServiceIAM
	}
	a.SourceIP, a.Now = iam.SourceIP(r), s.now()
	err := s.plane.Authorize(r.Context(), rc.principal, a)
	var de *control.DeniedError
	if errors.As(err, &de) {
		return &AuthError{Message: de.Error()}
	}
	return err
}

// internalMaxBody bounds bodies of the internal zone API: room for usage
// reports of a few hundred thousand buckets.
const internalMaxBody = 64 << 20

// internal wraps an internal-API handler: bearer token of a zone, body read.
func (s *server) internal(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || tok == "" {
				return &AuthError{Message: "missing zone token: send Authorization: Bearer <token>"}
			}
			zone, ok := s.plane.ZoneForToken(tok)
			if !ok {
				return &AuthError{Message: "zone token not recognized"}
			}
			// Zones are trusted (authenticated) and a usage report of a
			// zone with many buckets outgrows the public API's limit.
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, internalMaxBody))
			if err != nil {
				return err
			}
			return h(w, r, &reqContext{body: body, zone: zone})
		}()
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// maxJSONDepth bounds the nesting of API v2 and internal bodies (a role
// with its policy nests 6 levels; iam.ParsePolicy allows a policy 16).
const maxJSONDepth = 32

// decodeJSON decodes a JSON object body into v strictly (unknown fields
// refused) and words errors for a person.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return httpErrorf(http.StatusBadRequest, "request body is empty: expected a JSON object")
	}
	if err := bounded.CheckJSONDepth(body, maxJSONDepth); err != nil {
		return httpErrorf(http.StatusBadRequest, "malformed JSON body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return httpErrorf(http.StatusBadRequest, "malformed JSON body: %s", describeJSONError(body, err))
	}
	if dec.More() {
		return httpErrorf(http.StatusBadRequest, "malformed JSON body: unexpected data after the JSON object")
	}
	return nil
}

func describeJSONError(body []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return fmt.Sprintf("%s (line %d, column %d)", se.Error(), line, col)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return fmt.Sprintf("expected %s, found a JSON %s", te.Type, te.Value)
		}
		return fmt.Sprintf("field %q must be %s, not a JSON %s", field, jsonKind(te.Type.String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON document ends too early"
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return msg
}

func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool" || goType == "*bool":
		return "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint") || strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]") || strings.HasPrefix(goType, "*[]"):
		return "an array"
	case strings.HasPrefix(goType, "map") || strings.HasPrefix(goType, "*map"):
		return "an object"
	}
	return "a " + goType
}

func position(body []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(body)); i++ {
		if body[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
