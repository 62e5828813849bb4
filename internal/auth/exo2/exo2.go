package exo2

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scheme is the Authorization scheme of API v2 requests.
const Scheme = "EXO2-HMAC-SHA256"

// DefaultMaxAhead is how far in the future a signature's expiry may lie
// before it is refused: Exoscale's clients sign for 10 minutes. ClockSkew
// more is allowed, for a client whose clock runs a little ahead.
const (
	DefaultMaxAhead = 10 * time.Minute
	ClockSkew       = time.Minute
)

// Error is a refused EXO2 authentication. Its message is meant for the
// person who sent the request; HTTP handlers answer it with 403.
type Error struct {
	Message string
	// Code, when set, says what was refused in a word a client may act on.
	Code string
}

// CodeSignatureReused is the Code of a refused write whose signature was
// already accepted once (see VerifyOptions.Replays).
const CodeSignatureReused = "SignatureReused"

func (e *Error) Error() string { return e.Message }

func authErrorf(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// Message builds the string an EXO2-HMAC-SHA256 signature covers:
//
//	METHOD + " " + escaped path + "\n" +
//	body + "\n" +
//	values of the signed query args, in the given order, concatenated + "\n" +
//	"" (signed headers: none) + "\n" +
//	expires (unix seconds)
func Message(method, escapedPath string, body []byte, signedValues []string, expires int64) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(escapedPath)
	b.WriteByte('\n')
	b.Write(body)
	b.WriteByte('\n')
	for _, v := range signedValues {
		b.WriteString(v)
	}
	b.WriteByte('\n')
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(expires, 10))
	return b.String()
}

func signature(secret, message string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(message))
	return h.Sum(nil)
}

// Sign signs req for API v2 the way Exoscale's egoscale v3 client does:
// every query parameter that holds exactly one value is signed (names sorted),
// body is the exact request body (nil for none). It sets the Authorization
// header and leaves the body alone: the caller sends body as req's body.
func Sign(req *http.Request, body []byte, key, secret string, expires time.Time) error {
	if req == nil || req.URL == nil {
		return errors.New("exo2: Sign needs a request with a URL")
	}
	if key == "" || secret == "" {
		return errors.New("exo2: Sign needs an API key and secret")
	}
	query := req.URL.Query()
	var names []string
	for name, vs := range query {
		if len(vs) == 1 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	values := make([]string, len(names))
	for i, name := range names {
		values[i] = query.Get(name)
	}
	exp := expires.Unix()
	sig := signature(secret, Message(req.Method, req.URL.EscapedPath(), body, values, exp))

	var h strings.Builder
	h.WriteString(Scheme + " credential=" + key)
	if len(names) > 0 {
		h.WriteString(",signed-query-args=" + strings.Join(names, ";"))
	}
	h.WriteString(",expires=" + strconv.FormatInt(exp, 10))
	h.WriteString(",signature=" + base64.StdEncoding.EncodeToString(sig))
	req.Header.Set("Authorization", h.String())
	return nil
}

// Header is a parsed EXO2-HMAC-SHA256 Authorization header.
type Header struct {
	Credential      string
	SignedQueryArgs []string
	Expires         int64
	Signature       []byte
}

// ParseHeader parses an Authorization header value of the EXO2 scheme.
func ParseHeader(value string) (Header, error) {
	var h Header
	if value == "" {
		return h, authErrorf("missing Authorization header: sign the request with %s", Scheme)
	}
	rest, ok := strings.CutPrefix(value, Scheme+" ")
	if !ok {
		scheme, _, _ := strings.Cut(value, " ")
		return h, authErrorf("unsupported authorization scheme %q: expected %s", scheme, Scheme)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return h, authErrorf("malformed Authorization header: %q is not name=value", part)
		}
		if seen[name] {
			return h, authErrorf("malformed Authorization header: %s given twice", name)
		}
		seen[name] = true
		switch name {
		case "credential":
			h.Credential = val
		case "signed-query-args":
			if val != "" {
				h.SignedQueryArgs = strings.Split(val, ";")
			}
		case "expires":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return h, authErrorf("malformed Authorization header: expires %q is not a unix timestamp", val)
			}
			h.Expires = n
		case "signature":
			sig, err := base64.StdEncoding.DecodeString(val)
			if err != nil {
				return h, authErrorf("malformed Authorization header: signature is not base64")
			}
			h.Signature = sig
		default:
			return h, authErrorf("malformed Authorization header: unknown field %q", name)
		}
	}
	switch {
	case h.Credential == "":
		return h, authErrorf("malformed Authorization header: credential is missing")
	case !seen["expires"]:
		return h, authErrorf("malformed Authorization header: expires is missing")
	case h.Signature == nil:
		return h, authErrorf("malformed Authorization header: signature is missing")
	}
	return h, nil
}

// VerifyOptions tunes Verify.
type VerifyOptions struct {
	// Now is the current time (required).
	Now time.Time
	// MaxAhead bounds how far in the future expires may be; 0 means DefaultMaxAhead.
	MaxAhead time.Duration
	// Secret returns the secret of an API key, ok=false when the key is unknown.
	Secret func(key string) (secret string, ok bool)
	// Replays, when set, makes the signature of every request that may
	// change state (any method but GET, HEAD and OPTIONS) acceptable once:
	// a second such request with a signature already accepted is refused.
	// A read sent again returns only what its first answer did, and a
	// client polling an operation sends the same GET within one second.
	Replays *Replays
}

// Verify checks the EXO2-HMAC-SHA256 signature of r, whose body has
// already been read into body. It returns the API key that signed the
// request, or an *Error saying why the request is refused. Every query
// parameter of the request must be signed.
func Verify(r *http.Request, body []byte, opts VerifyOptions) (string, error) {
	h, err := ParseHeader(r.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if opts.Secret == nil {
		return "", errors.New("exo2: Verify needs a Secret lookup")
	}
	maxAhead := opts.MaxAhead
	if maxAhead == 0 {
		maxAhead = DefaultMaxAhead
	}
	exp := time.Unix(h.Expires, 0).UTC()
	if !opts.Now.Before(exp) {
		return "", authErrorf("signature expired at %s (it is now %s)", exp.Format(time.RFC3339), opts.Now.UTC().Format(time.RFC3339))
	}
	if exp.Sub(opts.Now) > maxAhead+ClockSkew {
		return "", authErrorf("signature expires at %s, more than %s ahead (it is now %s): sign with a shorter expiry, and check the client's clock",
			exp.Format(time.RFC3339), maxAhead, opts.Now.UTC().Format(time.RFC3339))
	}

	query := r.URL.Query()
	signed := make(map[string]bool, len(h.SignedQueryArgs))
	values := make([]string, 0, len(h.SignedQueryArgs))
	for _, name := range h.SignedQueryArgs {
		vs := query[name]
		if len(vs) != 1 {
			return "", authErrorf("signed query argument %q must appear exactly once in the URL", name)
		}
		signed[name] = true
		values = append(values, vs[0])
	}
	for name := range query {
		if !signed[name] {
			return "", authErrorf("query argument %q is not covered by the signature (signed-query-args)", name)
		}
	}

	secret, ok := opts.Secret(h.Credential)
	if !ok {
		return "", authErrorf("unknown API key %q", h.Credential)
	}
	want := signature(secret, Message(r.Method, r.URL.EscapedPath(), body, values, h.Expires))
	if subtle.ConstantTimeCompare(want, h.Signature) != 1 {
		return "", authErrorf("signature does not match: check the API secret, and that the body, path and query arguments are signed as sent")
	}
	if opts.Replays != nil && changesState(r.Method) && !opts.Replays.first(h.Signature, h.Expires, opts.Now) {
		return "", &Error{Code: CodeSignatureReused,
			Message: "this signature was already used: each signed write is accepted once, so sign every request anew (a retry included)"}
	}
	return h.Credential, nil
}
