package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Credentials are what a client signs with.
type Credentials struct {
	AccessKey    string
	Secret       string
	SessionToken string // optional, sent as X-Amz-Security-Token
}

// SignOptions configure Sign and Presign.
type SignOptions struct {
	// Region is the zone name. Required.
	Region string
	// Service is "s3" when empty.
	Service string
	// Now is the clock, time.Now when nil.
	Now func() time.Time
	// PayloadHash is the hex SHA-256 of the body, or UnsignedPayload (the
	// default when empty). Presign puts a hex hash in X-Amz-Content-Sha256.
	PayloadHash string
}

// headers never signed: hop-by-hop, rewritten by proxies, or set by the
// transport from request fields.
var unsignedHeaderNames = map[string]bool{
	"authorization":     true,
	"user-agent":        true,
	"expect":            true,
	"transfer-encoding": true,
	"x-amzn-trace-id":   true,
	"content-length":    true,
	"connection":        true,
}

func (o *SignOptions) prepare(creds Credentials) (time.Time, error) {
	if creds.AccessKey == "" || creds.Secret == "" {
		return time.Time{}, errors.New("sigv4: credentials need an access key and a secret")
	}
	if o.Region == "" {
		return time.Time{}, errors.New("sigv4: SignOptions.Region is required")
	}
	if o.Service == "" {
		o.Service = "s3"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PayloadHash == "" {
		o.PayloadHash = UnsignedPayload
	}
	if err := checkPayloadMarker(o.PayloadHash); err != nil {
		return time.Time{}, err
	}
	return o.Now().UTC(), nil
}

// signedHeaderNames returns "host" and the names of r's headers to sign,
// lower case and sorted.
func signedHeaderNames(h http.Header) []string {
	names := []string{"host"}
	for k := range h {
		lk := strings.ToLower(k)
		if unsignedHeaderNames[lk] || lk == "host" {
			continue
		}
		names = append(names, lk)
	}
	sort.Strings(names)
	return names
}

// Sign signs r with an Authorization header (AWS4-HMAC-SHA256). It sets
// X-Amz-Date, X-Amz-Content-Sha256 (o.PayloadHash), X-Amz-Security-Token
// when creds has one, and rewrites r.URL.RawPath to the canonical encoding
// so that the path on the wire is the one signed. Every header of r except
// Authorization, User-Agent, Expect, Transfer-Encoding, Content-Length and
// Connection is signed, so set them all before calling Sign.
func Sign(r *http.Request, creds Credentials, o SignOptions) error {
	now, err := o.prepare(creds)
	if err != nil {
		return err
	}
	amzDate := now.Format(amzDateFormat)
	day := now.Format(scopeDateFormat)
	r.Header.Del("Authorization")
	r.Header.Set(headerAmzDate, amzDate)
	r.Header.Set(headerAmzContentSHA256, o.PayloadHash)
	if creds.SessionToken != "" {
		r.Header.Set(headerAmzSecurityToken, creds.SessionToken)
	} else {
		r.Header.Del(headerAmzSecurityToken)
	}
	uri := canonicalURI(r.URL)
	r.URL.RawPath = uri
	signed := signedHeaderNames(r.Header)
	sc := scope(day, o.Region, o.Service)
	creq := canonicalRequest(r.Method, uri, canonicalQuery(r.URL.RawQuery, ""), canonicalHeaders(r, signed), signed, o.PayloadHash)
	sig := signString(signingKey(creds.Secret, day, o.Region, o.Service), stringToSign(amzDate, sc, creq))
	r.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		Algorithm, creds.AccessKey, sc, strings.Join(signed, ";"), sig))
	return nil
}

// Presign returns a presigned URL for r valid for expires (1 second to 7
// days). r is not modified. The headers of r (see Sign for the ones left out)
// are signed: whoever uses the URL must send them with the same values.
func Presign(r *http.Request, creds Credentials, expires time.Duration, o SignOptions) (string, error) {
	now, err := o.prepare(creds)
	if err != nil {
		return "", err
	}
	if expires < time.Second || expires > maxPresignExpires {
		return "", fmt.Errorf("sigv4: a presigned URL expires after 1s to 7 days, not %s", expires)
	}
	amzDate := now.Format(amzDateFormat)
	day := now.Format(scopeDateFormat)
	sc := scope(day, o.Region, o.Service)
	signed := signedHeaderNames(r.Header)

	u := *r.URL
	q := u.Query()
	q.Del(querySignature)
	q.Set(queryAlgorithm, Algorithm)
	q.Set(queryCredential, creds.AccessKey+"/"+sc)
	q.Set(queryDate, amzDate)
	q.Set(queryExpires, strconv.FormatInt(int64(expires/time.Second), 10))
	q.Set(querySignedHeaders, strings.Join(signed, ";"))
	if creds.SessionToken != "" {
		q.Set(querySecurityToken, creds.SessionToken)
	}
	payload := UnsignedPayload
	if isHexSHA256(o.PayloadHash) {
		payload = o.PayloadHash
		q.Set(queryContentSHA256, payload)
	}
	query := canonicalQuery(q.Encode(), "")
	uri := canonicalURI(&u)
	// canonicalHeaders reads host from the request; use the URL's host when
	// the request has none.
	hr := &http.Request{Host: r.Host, URL: &u, Header: r.Header, ContentLength: r.ContentLength}
	creq := canonicalRequest(r.Method, uri, query, canonicalHeaders(hr, signed), signed, payload)
	sig := signString(signingKey(creds.Secret, day, o.Region, o.Service), stringToSign(amzDate, sc, creq))
	u.RawQuery = query + "&" + querySignature + "=" + sig
	path, err := url.PathUnescape(uri)
	if err != nil {
		return "", fmt.Errorf("sigv4: path %q: %w", uri, err)
	}
	u.Path, u.RawPath = path, uri
	return u.String(), nil
}
