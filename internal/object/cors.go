package object

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"sos/internal/meta"
)

// MaxCORSRules is S3's limit on the rules of a CORS configuration.
const MaxCORSRules = 100

// maxCORSRuleID is S3's limit on a rule's ID, in characters.
const maxCORSRuleID = 255

// corsMethods are the methods a CORS rule may allow, as S3 spells them.
var corsMethods = []string{"GET", "PUT", "POST", "DELETE", "HEAD"}

// CheckCORS applies S3's rules to a CORS configuration: 1 to 100 rules,
// each with at least one AllowedOrigin and AllowedMethod (ErrMalformedConfig
// otherwise, as S3's schema refuses them), methods among GET PUT POST DELETE
// HEAD, at most one * in an AllowedOrigin or AllowedHeader, none in an
// ExposeHeader, a MaxAgeSeconds of 0 or more and an ID of at most 255
// characters (ErrInvalidRequest, naming the rule).
func CheckCORS(rules []meta.CORSRule) error {
	if len(rules) == 0 {
		return fmt.Errorf("%w: a CORS configuration needs at least one CORSRule", ErrMalformedConfig)
	}
	if len(rules) > MaxCORSRules {
		return fmt.Errorf("%w: the CORS configuration has %d rules, at most %d are allowed", ErrMalformedConfig, len(rules), MaxCORSRules)
	}
	for i, r := range rules {
		name := fmt.Sprintf("CORSRule %d", i+1)
		if r.ID != "" {
			name += fmt.Sprintf(" (ID %q)", r.ID)
		}
		switch {
		case len(r.AllowedOrigins) == 0:
			return fmt.Errorf("%w: %s has no AllowedOrigin", ErrMalformedConfig, name)
		case len(r.AllowedMethods) == 0:
			return fmt.Errorf("%w: %s has no AllowedMethod", ErrMalformedConfig, name)
		case len([]rune(r.ID)) > maxCORSRuleID:
			return fmt.Errorf("%w: the ID of %s is longer than %d characters", ErrInvalidRequest, name, maxCORSRuleID)
		case r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0:
			return fmt.Errorf("%w: MaxAgeSeconds of %s is negative", ErrInvalidRequest, name)
		}
		for _, m := range r.AllowedMethods {
			if !slices.Contains(corsMethods, m) {
				return fmt.Errorf("%w: found unsupported HTTP method in CORS config: %s allows %q; the methods are GET, PUT, POST, DELETE and HEAD", ErrInvalidRequest, name, m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if o == "" {
				return fmt.Errorf("%w: %s has an empty AllowedOrigin", ErrMalformedConfig, name)
			}
			if strings.Count(o, "*") > 1 {
				return fmt.Errorf("%w: AllowedOrigin %q of %s can not have more than one wildcard", ErrInvalidRequest, o, name)
			}
		}
		for _, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				return fmt.Errorf("%w: AllowedHeader %q of %s can not have more than one wildcard", ErrInvalidRequest, h, name)
			}
		}
		for _, h := range r.ExposeHeaders {
			if strings.Contains(h, "*") {
				return fmt.Errorf("%w: ExposeHeader %q of %s contains a wildcard, which S3 does not support for ExposeHeader", ErrInvalidRequest, h, name)
			}
		}
	}
	return nil
}

// SetCORS stores a bucket's CORS configuration (nil removes it) after
// CheckCORS.
func (s *Service) SetCORS(ctx context.Context, bucket string, rules []meta.CORSRule) error {
	if rules != nil {
		if err := CheckCORS(rules); err != nil {
			return err
		}
		rules = slices.Clone(rules)
	}
	unlock := s.lockBucket(bucket)
	defer unlock()
	return s.update(ctx, func(tx meta.Tx) error {
		b, err := bucketOf(ctx, tx, bucket)
		if err != nil {
			return err
		}
		if rules == nil && b.CORS == nil {
			return fmt.Errorf("%w: bucket %s has none", ErrNoSuchCORSConfiguration, bucket)
		}
		b.CORS = rules
		return tx.PutBucket(ctx, b)
	})
}

// CORS returns a bucket's CORS rules, or ErrNoSuchCORSConfiguration.
func (s *Service) CORS(ctx context.Context, bucket string) ([]meta.CORSRule, error) {
	b, err := bucketOf(ctx, s.meta, bucket)
	if err != nil {
		return nil, err
	}
	if b.CORS == nil {
		return nil, fmt.Errorf("%w: bucket %s has none", ErrNoSuchCORSConfiguration, bucket)
	}
	return b.CORS, nil
}

// MatchCORS returns the first rule that allows a request from origin with
// method and the given request headers (a preflight's
// Access-Control-Request-Headers; none for an actual request), as S3
// evaluates them: the origin matches an AllowedOrigin (one * standing for
// any characters, case-insensitively), the method is one of AllowedMethods,
// and every header matches an AllowedHeader (case-insensitively, with *).
func MatchCORS(rules []meta.CORSRule, origin, method string, headers []string) (*meta.CORSRule, bool) {
	for i := range rules {
		r := &rules[i]
		if !slices.Contains(r.AllowedMethods, method) {
			continue
		}
		if !slices.ContainsFunc(r.AllowedOrigins, func(p string) bool { return wildMatch(p, origin) }) {
			continue
		}
		all := true
		for _, h := range headers {
			if !slices.ContainsFunc(r.AllowedHeaders, func(p string) bool { return wildMatch(p, h) }) {
				all = false
				break
			}
		}
		if all {
			return r, true
		}
	}
	return nil, false
}

// wildMatch matches s against pattern, where one * stands for any run of
// characters, ignoring case.
func wildMatch(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	before, after, wild := strings.Cut(pattern, "*")
	if !wild {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}
