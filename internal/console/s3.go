package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"sos/internal/control"
)

// zoneClient talks S3 to one zone with the signed-in user's key.
type zoneClient struct {
	zone     control.Zone
	s3       *s3.Client
	http     *http.Client
	key      string
	secret   string
	endpoint string
}

// zoneFor returns an S3 client of zone for the session's key: explicit
// configuration only (no shared config, no environment), path style, the
// zone name as region.
func (c *console) zoneFor(s *session, zone string) (*zoneClient, error) {
	z, ok := c.plane.Zone(zone)
	if !ok {
		return nil, errorPage(http.StatusNotFound, "Unknown zone", "There is no zone named %q in this deployment.", zone)
	}
	if z.S3Endpoint == "" {
		return nil, errorPage(http.StatusServiceUnavailable, "Zone unreachable", "Zone %s has no S3 endpoint configured.", zone)
	}
	key, secret := s.Key, s.Secret
	cl := s3.New(s3.Options{
		Region:       z.Name,
		BaseEndpoint: aws.String(z.S3Endpoint),
		UsePathStyle: true,
		HTTPClient:   c.http,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, Source: "sos console session"}, nil
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           2,
	})
	return &zoneClient{zone: z, s3: cl, http: c.http, key: key, secret: secret, endpoint: strings.TrimSuffix(z.S3Endpoint, "/")}, nil
}

// s3Error is a refusal from a zone, in words.
type s3Error struct {
	Zone    string
	Op      string
	Code    string
	Message string
	Status  int
	Err     error // transport errors
}

func (e *s3Error) Error() string { return e.Words() }

func (e *s3Error) httpStatus() int {
	switch {
	case e.Status >= 400 && e.Status < 600:
		return e.Status
	case e.Err != nil:
		return http.StatusBadGateway
	}
	return http.StatusBadRequest
}

// Words says what went wrong for a person: the zone's message, with a
// short explanation of the common codes.
func (e *s3Error) Words() string {
	if e.Err != nil {
		return fmt.Sprintf("Zone %s could not be reached (%s): %v", e.Zone, e.Op, e.Err)
	}
	msg := strings.TrimSpace(e.Message)
	hint := ""
	switch e.Code {
	case "AccessDenied":
		hint = "Your API key's role does not allow this"
	case "NoSuchBucket":
		hint = "The bucket does not exist"
	case "NoSuchKey":
		hint = "The object does not exist"
	case "BucketAlreadyExists":
		hint = "This bucket name is already used in another zone; bucket names are unique across all zones"
	case "BucketAlreadyOwnedByYou":
		hint = "This bucket already exists"
	case "BucketNotEmpty":
		hint = "Delete the bucket's objects (and their versions) first"
	case "InvalidBucketName":
		hint = "Bucket names are 3 to 63 lowercase letters, digits, dots and hyphens"
	case "ReplicationConfigurationNotFoundError":
		hint = "The bucket has no replication configuration"
	case "SignatureDoesNotMatch", "InvalidAccessKeyId":
		hint = "Your credentials were refused; sign in again"
	}
	switch {
	case hint != "" && msg != "" && !strings.EqualFold(strings.TrimSuffix(msg, "."), hint):
		return hint + ". " + ensureStop(msg)
	case msg != "":
		return ensureStop(msg)
	case hint != "":
		return hint + "."
	case e.Code != "":
		return fmt.Sprintf("Zone %s refused %s (%s).", e.Zone, e.Op, e.Code)
	}
	return fmt.Sprintf("Zone %s refused %s with HTTP status %d.", e.Zone, e.Op, e.Status)
}

func ensureStop(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// wrap turns an SDK error into an *s3Error.
func (z *zoneClient) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	e := &s3Error{Zone: z.zone.Name, Op: op}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		e.Status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code, e.Message = ae.ErrorCode(), ae.ErrorMessage()
		if e.Code == "NotFound" && e.Message == "" {
			e.Message = "Not found."
		}
		return e
	}
	if e.Status != 0 {
		return e
	}
	e.Err = err
	return e
}

// isCode reports whether err is an S3 refusal with code.
func isCode(err error, code string) bool {
	var se *s3Error
	return errors.As(err, &se) && se.Code == code
}

// raw sends a signed S3 request that the SDK has no operation for (the
// sos-replication-* extensions, and the replication document as XML) and
// returns the body of a 2xx answer.
func (z *zoneClient) raw(ctx context.Context, op, method, bucket, query string, body []byte) ([]byte, error) {
	u := z.endpoint + "/" + url.PathEscape(bucket)
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/xml")
	}
	creds := aws.Credentials{AccessKeyID: z.key, SecretAccessKey: z.secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "s3", z.zone.Name, time.Now()); err != nil {
		return nil, err
	}
	resp, err := z.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &s3Error{Zone: z.zone.Name, Op: op, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, &s3Error{Zone: z.zone.Name, Op: op, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		var x struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		_ = xml.Unmarshal(data, &x)
		return nil, &s3Error{Zone: z.zone.Name, Op: op, Code: x.Code, Message: x.Message, Status: resp.StatusCode}
	}
	return data, nil
}
