package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"sos/internal/bounded"
	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/s3err"
)

// corsLimits: S3 allows CORS configurations of up to 64 KiB; 100 rules of
// a few elements each fit in the element limit (the rule count itself is
// object.CheckCORS's).
var corsLimits = bounded.Limits{Bytes: 64 << 10, Depth: maxXMLDepth, Elements: 8000}

type corsRuleXML struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *string  `xml:"MaxAgeSeconds"`
}

type corsConfigXML struct {
	XMLName xml.Name      `xml:"CORSConfiguration"`
	NS      string        `xml:"xmlns,attr,omitempty"`
	Rules   []corsRuleXML `xml:"CORSRule"`
}

// parseCORS reads a PutBucketCors body into rules (object.CheckCORS judges
// them).
func parseCORS(req *request) ([]meta.CORSRule, error) {
	body, err := xmlBody(req, corsLimits.Bytes)
	if err != nil {
		return nil, err
	}
	var c corsConfigXML
	if err := decodeXML(body, "CORSConfiguration", &c, corsLimits); err != nil {
		return nil, err
	}
	rules := make([]meta.CORSRule, 0, len(c.Rules))
	for _, x := range c.Rules {
		r := meta.CORSRule{ID: strings.TrimSpace(x.ID), AllowedOrigins: trimAll(x.AllowedOrigins),
			AllowedMethods: trimAll(x.AllowedMethods), AllowedHeaders: trimAll(x.AllowedHeaders), ExposeHeaders: trimAll(x.ExposeHeaders)}
		if x.MaxAgeSeconds != nil {
			n, err := strconv.Atoi(strings.TrimSpace(*x.MaxAgeSeconds))
			if err != nil {
				return nil, s3err.New(s3err.MalformedXML, "MaxAgeSeconds "+strconv.Quote(clip(*x.MaxAgeSeconds))+" is not an integer.")
			}
			r.MaxAgeSeconds = &n
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func trimAll(l []string) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func (h *Handler) putBucketCORS(req *request) error {
	rules, err := parseCORS(req)
	if err != nil {
		return err
	}
	if err := h.objects.SetCORS(req.r.Context(), req.bucket, rules); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketCORS(req *request) error {
	rules, err := h.objects.CORS(req.r.Context(), req.bucket)
	if err != nil {
		return corsNotFound(req, err)
	}
	out := corsConfigXML{NS: s3NS}
	for _, r := range rules {
		x := corsRuleXML{ID: r.ID, AllowedHeaders: r.AllowedHeaders, AllowedMethods: r.AllowedMethods,
			AllowedOrigins: r.AllowedOrigins, ExposeHeaders: r.ExposeHeaders}
		if r.MaxAgeSeconds != nil {
			s := strconv.Itoa(*r.MaxAgeSeconds)
			x.MaxAgeSeconds = &s
		}
		out.Rules = append(out.Rules, x)
	}
	return writeXML(req.w, out)
}

func (h *Handler) deleteBucketCORS(req *request) error {
	err := h.objects.SetCORS(req.r.Context(), req.bucket, nil)
	if errors.Is(err, object.ErrNoSuchCORSConfiguration) {
		err = nil // S3 answers 204 whether or not there was one
	}
	if err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// corsNotFound gives NoSuchCORSConfiguration its <BucketName>.
func corsNotFound(req *request, err error) error {
	if errors.Is(err, object.ErrNoSuchCORSConfiguration) {
		e := s3err.New(s3err.NoSuchCORSConfiguration, "")
		e.BucketName = req.bucket
		return e
	}
	return err
}

// corsForbidden is S3's refusal of a preflight.
func corsForbidden(msg string) error {
	return s3err.New(s3err.AccessForbidden, "CORSResponse: "+msg)
}

// preflight answers an OPTIONS request to a bucket or object URL from the
// bucket's CORS rules, without authentication, as S3 does.
func (h *Handler) preflight(req *request) error {
	r := req.r
	origin := r.Header.Get("Origin")
	if origin == "" {
		return s3err.New(s3err.BadRequest, "Insufficient information. Origin request header needed.")
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if method == "" || !isCORSMethod(method) {
		return s3err.New(s3err.BadRequest, "Invalid Access-Control-Request-Method: "+strconv.Quote(clip(method))+"; a preflight names one of GET, PUT, POST, DELETE and HEAD.")
	}
	var headers []string
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				headers = append(headers, f)
			}
		}
	}
	rules, err := h.objects.CORS(r.Context(), req.bucket)
	switch {
	case errors.Is(err, object.ErrNoSuchBucket):
		return corsForbidden("Bucket not found.")
	case errors.Is(err, object.ErrNoSuchCORSConfiguration):
		return corsForbidden("CORS is not enabled for this bucket.")
	case err != nil:
		return err
	}
	rule, ok := object.MatchCORS(rules, origin, method, headers)
	if !ok {
		return corsForbidden("This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not allowed by the bucket's CORS rules.")
	}
	hdr := req.w.Header()
	setCORSHeaders(hdr, rule, origin)
	if len(headers) > 0 {
		hdr.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	hdr.Set("Content-Length", "0")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func isCORSMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead:
		return true
	}
	return false
}

// setCORSHeaders writes the headers S3 sends for a request that a rule
// allows: the origin (* when the rule allows any origin, then without
// credentials), the rule's methods, exposed headers and max age, and Vary.
func setCORSHeaders(hdr http.Header, rule *meta.CORSRule, origin string) {
	anyOrigin := false
	for _, o := range rule.AllowedOrigins {
		if o == "*" {
			anyOrigin = true
		}
	}
	if anyOrigin {
		hdr.Set("Access-Control-Allow-Origin", "*")
	} else {
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Set("Access-Control-Allow-Credentials", "true")
	}
	hdr.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(rule.ExposeHeaders) > 0 {
		hdr.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		hdr.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	hdr.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
}

// corsResponse adds the CORS headers to the answer of an actual request
// (signed or not, success or error) that carries an Origin a rule of the
// bucket allows for its method.
func (h *Handler) corsResponse(req *request) {
	origin := req.r.Header.Get("Origin")
	if origin == "" || req.bucket == "" {
		return
	}
	rules, err := h.objects.CORS(req.r.Context(), req.bucket)
	if err != nil {
		return // no bucket, no rules: no CORS headers, as S3
	}
	if rule, ok := object.MatchCORS(rules, origin, req.r.Method, nil); ok {
		setCORSHeaders(req.w.Header(), rule, origin)
	}
}
