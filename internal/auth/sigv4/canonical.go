package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Values of x-amz-content-sha256 and algorithm names.
const (
	Algorithm                  = "AWS4-HMAC-SHA256"
	UnsignedPayload            = "UNSIGNED-PAYLOAD"
	StreamingPayload           = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer    = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer   = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	EmptySHA256                = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	chunkAlgorithm             = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgorithm           = "AWS4-HMAC-SHA256-TRAILER"
	scopeTerminator            = "aws4_request"
	amzDateFormat              = "20060102T150405Z"
	scopeDateFormat            = "20060102"
	maxPresignExpires          = 7 * 24 * time.Hour
	headerAmzDate              = "X-Amz-Date"
	headerAmzContentSHA256     = "X-Amz-Content-Sha256"
	headerAmzSecurityToken     = "X-Amz-Security-Token"
	headerAmzDecodedLength     = "X-Amz-Decoded-Content-Length"
	headerAmzTrailer           = "X-Amz-Trailer"
	queryAlgorithm             = "X-Amz-Algorithm"
	queryCredential            = "X-Amz-Credential"
	queryDate                  = "X-Amz-Date"
	queryExpires               = "X-Amz-Expires"
	querySignedHeaders         = "X-Amz-SignedHeaders"
	querySignature             = "X-Amz-Signature"
	querySecurityToken         = "X-Amz-Security-Token"
	queryContentSHA256         = "X-Amz-Content-Sha256"
	trailerSignatureHeaderName = "x-amz-trailer-signature"
)

// uriEncode percent-encodes s as SigV4 requires: every byte outside the
// unreserved set A-Z a-z 0-9 - _ . ~ becomes %XX with upper-case hex.
// When keepSlash is true, '/' is kept as is.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// canonicalURI returns the canonical URI of u the way S3 computes it: the
// decoded path, each segment URI-encoded once (S3 does not double-encode).
// A %2F inside a segment stays %2F. An empty path is "/".
func canonicalURI(u *url.URL) string {
	escaped := u.EscapedPath()
	if escaped == "" {
		return "/"
	}
	segments := strings.Split(escaped, "/")
	for i, seg := range segments {
		if dec, err := url.PathUnescape(seg); err == nil {
			seg = dec
		}
		segments[i] = uriEncode(seg, false)
	}
	p := strings.Join(segments, "/")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// canonicalQuery returns the canonical query string of a raw query: every
// name and value decoded ('+' is a space, as in forms), URI-encoded, the pairs
// sorted by encoded name then value. The parameter named skip (if any) is left
// out, which is how X-Amz-Signature is excluded from a presigned URL.
func canonicalQuery(rawQuery, skip string) string {
	if rawQuery == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = queryUnescape(k)
		if skip != "" && k == skip {
			continue
		}
		pairs = append(pairs, pair{uriEncode(k, false), uriEncode(queryUnescape(v), false)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes a query component; a malformed escape is kept as
// written, so that the signature check fails instead of the parser.
func queryUnescape(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// trimHeaderValue trims a header value and collapses inner runs of spaces to
// one space, as the canonical request requires.
func trimHeaderValue(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// headerValues returns the values of a signed header of r. host,
// content-length and transfer-encoding are kept outside r.Header by net/http
// on the server side, so they are read from their fields when absent.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return []string{h}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if v := r.Header.Values("Transfer-Encoding"); len(v) > 0 {
			return v
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
		return nil
	}
	return r.Header.Values(name)
}

// canonicalHeaders returns the canonical headers block (each line ends with
// '\n') for the given lower-case, sorted signed header names.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, name) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimHeaderValue(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalRequest assembles the canonical request.
func canonicalRequest(method, uri, query, headers string, signed []string, payloadHash string) string {
	return method + "\n" + uri + "\n" + query + "\n" + headers + "\n" + strings.Join(signed, ";") + "\n" + payloadHash
}

// scope is the credential scope "date/region/service/aws4_request".
func scope(day, region, service string) string {
	return day + "/" + region + "/" + service + "/" + scopeTerminator
}

func stringToSign(amzDate, scope, canonicalRequest string) string {
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hexSHA256([]byte(canonicalRequest))
}

// signingKey derives the signing key from the secret and the scope parts.
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func signString(key []byte, s string) string {
	return hex.EncodeToString(hmacSHA256(key, s))
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
