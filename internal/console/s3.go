package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"sos/internal/control"
	"sos/internal/s3client"
)

// zoneClient talks S3 to one zone with the signed-in user's key.
type zoneClient struct {
	zone     control.Zone
	s3       *s3.Client
	repl     *s3client.Replication
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
	cfg := s3client.Config{Endpoint: z.S3Endpoint, Region: z.Name, AccessKey: s.Key, Secret: s.Secret, HTTPClient: c.http, MaxAttempts: 2}
	return &zoneClient{zone: z, s3: s3client.New(cfg), repl: s3client.NewReplication(cfg), endpoint: strings.TrimSuffix(z.S3Endpoint, "/")}, nil
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

// wrap turns the error of an S3 call (the SDK's or s3client's) into an
// *s3Error. Errors that are neither an answer of the zone nor a failure to
// reach it (a document the console cannot read) are returned as they are.
func (z *zoneClient) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	e := &s3Error{Zone: z.zone.Name, Op: op}
	if se := s3client.ErrorOf(err); se != nil {
		e.Code, e.Message, e.Status = se.Code, se.Message, se.StatusCode
		if e.Code == "NotFound" && e.Message == "" {
			e.Message = "Not found."
		}
		return e
	}
	var ue *url.Error
	var oe *smithy.OperationError
	if !errors.As(err, &ue) && !errors.As(err, &oe) {
		return err
	}
	e.Err = err
	return e
}

// isCode reports whether err is an S3 refusal with code.
func isCode(err error, code string) bool {
	var se *s3Error
	return errors.As(err, &se) && se.Code == code
}
