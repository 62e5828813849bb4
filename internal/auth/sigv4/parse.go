package sigv4

import (
	"fmt"
	"strings"
	"time"
)

// credential is the parsed Credential of a header or presigned URL:
// AccessKey/Day/Region/Service/aws4_request.
type credential struct {
	AccessKey string
	Day       string // yyyymmdd
	Region    string
	Service   string
}

func (c credential) scope() string { return scope(c.Day, c.Region, c.Service) }

// authorization is the parsed Authorization header.
type authorization struct {
	Credential    credential
	SignedHeaders []string // lower-case, in the order given
	Signature     string   // lower-case hex
}

// parseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// Errors wrap ErrUnsupportedAlgorithm or ErrAuthorizationHeaderMalformed.
func parseAuthorization(v string) (authorization, error) {
	var a authorization
	v = strings.TrimSpace(v)
	alg, rest, _ := strings.Cut(v, " ")
	switch {
	case alg == Algorithm:
	case alg == "AWS" || alg == "AWS4-ECDSA-P256-SHA256":
		return a, fmt.Errorf("%w: %s signatures are not accepted", ErrUnsupportedAlgorithm, alg)
	case alg == "":
		return a, fmt.Errorf("%w: empty Authorization header", ErrAuthorizationHeaderMalformed)
	default:
		return a, fmt.Errorf("%w: unknown algorithm %q", ErrUnsupportedAlgorithm, truncate(alg, 40))
	}
	var haveCred, haveSigned, haveSig bool
	for field := range strings.SplitSeq(rest, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		k, val, ok := strings.Cut(field, "=")
		if !ok {
			return a, fmt.Errorf("%w: %q is not key=value", ErrAuthorizationHeaderMalformed, truncate(field, 40))
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		var err error
		switch k {
		case "Credential":
			if haveCred {
				return a, fmt.Errorf("%w: Credential given twice", ErrAuthorizationHeaderMalformed)
			}
			haveCred = true
			a.Credential, err = parseCredential(val)
			if err != nil {
				return a, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
			}
		case "SignedHeaders":
			if haveSigned {
				return a, fmt.Errorf("%w: SignedHeaders given twice", ErrAuthorizationHeaderMalformed)
			}
			haveSigned = true
			a.SignedHeaders, err = parseSignedHeaders(val)
			if err != nil {
				return a, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
			}
		case "Signature":
			if haveSig {
				return a, fmt.Errorf("%w: Signature given twice", ErrAuthorizationHeaderMalformed)
			}
			haveSig = true
			a.Signature, err = parseSignature(val)
			if err != nil {
				return a, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
			}
		default:
			return a, fmt.Errorf("%w: unknown field %q", ErrAuthorizationHeaderMalformed, truncate(k, 40))
		}
	}
	switch {
	case !haveCred:
		return a, fmt.Errorf("%w: missing Credential", ErrAuthorizationHeaderMalformed)
	case !haveSigned:
		return a, fmt.Errorf("%w: missing SignedHeaders", ErrAuthorizationHeaderMalformed)
	case !haveSig:
		return a, fmt.Errorf("%w: missing Signature", ErrAuthorizationHeaderMalformed)
	}
	return a, nil
}

// parseCredential parses AK/yyyymmdd/region/service/aws4_request. The access
// key is everything before the last four parts. Errors are plain; callers wrap
// them with the sentinel of their context.
func parseCredential(v string) (credential, error) {
	var c credential
	parts := strings.Split(v, "/")
	if len(parts) < 5 {
		return c, fmt.Errorf("credential %q must be ACCESSKEY/yyyymmdd/region/service/aws4_request", truncate(v, 120))
	}
	n := len(parts)
	c.AccessKey = strings.Join(parts[:n-4], "/")
	c.Day, c.Region, c.Service = parts[n-4], parts[n-3], parts[n-2]
	if c.AccessKey == "" {
		return c, fmt.Errorf("credential has an empty access key")
	}
	if _, err := time.Parse(scopeDateFormat, c.Day); err != nil || len(c.Day) != 8 {
		return c, fmt.Errorf("credential date %q is not yyyymmdd", truncate(c.Day, 20))
	}
	if c.Region == "" {
		return c, fmt.Errorf("credential has an empty region")
	}
	if parts[n-1] != scopeTerminator {
		return c, fmt.Errorf("credential must end with %q, not %q", scopeTerminator, truncate(parts[n-1], 20))
	}
	return c, nil
}

func parseSignedHeaders(v string) ([]string, error) {
	if v == "" {
		return nil, fmt.Errorf("SignedHeaders is empty")
	}
	names := strings.Split(v, ";")
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			return nil, fmt.Errorf("SignedHeaders %q has an empty name", truncate(v, 120))
		}
		if seen[n] {
			return nil, fmt.Errorf("SignedHeaders lists %q twice", truncate(n, 40))
		}
		seen[n] = true
		names[i] = n
	}
	if !seen["host"] {
		return nil, fmt.Errorf("SignedHeaders must include host")
	}
	return names, nil
}

func parseSignature(v string) (string, error) {
	if !isHexSHA256(v) {
		return "", fmt.Errorf("signature must be 64 hex digits")
	}
	return strings.ToLower(v), nil
}

// parseAmzDate parses an ISO 8601 basic time (20130524T000000Z).
func parseAmzDate(v string) (time.Time, bool) {
	t, err := time.Parse(amzDateFormat, v)
	return t, err == nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
