package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"sos/internal/bucketname"
	"sos/internal/s3client"
	"sos/internal/transport"
)

// bucketRef is a bucket and the zone that holds it.
type bucketRef struct {
	Name string
	Zone zoneInfo
}

// s3Config is the S3 client configuration of a zone: explicit (no shared
// config, no AWS_* environment), the account's key, the zone name as
// region.
func (a *app) s3Config(z zoneInfo) (s3client.Config, error) {
	s, err := a.resolved()
	if err != nil {
		return s3client.Config{}, err
	}
	if z.SOSEndpoint == "" {
		return s3client.Config{}, fmt.Errorf("zone %s has no S3 endpoint", z.Name)
	}
	hc, err := a.httpClient()
	if err != nil {
		return s3client.Config{}, err
	}
	return s3client.Config{Endpoint: z.SOSEndpoint, Region: z.Name, AccessKey: s.Key, Secret: s.Secret, HTTPClient: hc}, nil
}

// s3For returns an S3 client for a zone.
func (a *app) s3For(z zoneInfo) (*s3.Client, error) {
	cfg, err := a.s3Config(z)
	if err != nil {
		return nil, err
	}
	return s3client.New(cfg), nil
}

// replFor returns the replication calls of a zone (the configuration as
// XML and the sos-replication-* extensions).
func (a *app) replFor(z zoneInfo) (*s3client.Replication, error) {
	cfg, err := a.s3Config(z)
	if err != nil {
		return nil, err
	}
	return s3client.NewReplication(cfg), nil
}

// bucket finds the zone of an existing bucket: --zone when given,
// otherwise API v2's bucket list, otherwise asking each zone. When no zone
// will say (the key may not list buckets nor HEAD this one), it guesses a
// zone that refused; a command that then meets a redirect runs again in
// the zone named (see retryMoved).
func (a *app) bucket(ctx context.Context, name string) (bucketRef, error) {
	if err := checkBucketName(name); err != nil {
		return bucketRef{}, err
	}
	if a.flags.Zone != "" {
		z, err := a.zone(ctx, a.flags.Zone)
		return bucketRef{Name: name, Zone: z}, err
	}
	if zn := a.moved[name]; zn != "" {
		z, err := a.zone(ctx, zn)
		return bucketRef{Name: name, Zone: z}, err
	}
	c, err := a.client()
	if err != nil {
		return bucketRef{}, err
	}
	if usage, err := c.bucketsUsage(ctx); err == nil {
		for _, u := range usage {
			if u.Name == name {
				z, err := a.zone(ctx, u.ZoneName)
				return bucketRef{Name: name, Zone: z}, err
			}
		}
	}
	// Ask the zones: the one holding the bucket answers it (or names it
	// in X-Amz-Bucket-Region when redirecting).
	zs, err := a.zones(ctx)
	if err != nil {
		return bucketRef{}, err
	}
	var refused []zoneInfo
	var names []string
	for _, z := range zs {
		names = append(names, z.Name)
		cl, err := a.s3For(z)
		if err != nil {
			return bucketRef{}, err
		}
		_, err = cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
		region, status := responseRegion(err)
		switch {
		case err == nil:
			return bucketRef{Name: name, Zone: z}, nil
		case status == http.StatusMovedPermanently && region != "" && region != z.Name:
			if other, zerr := a.zone(ctx, region); zerr == nil {
				return bucketRef{Name: name, Zone: other}, nil
			}
		case status == http.StatusForbidden:
			refused = append(refused, z)
		case status == http.StatusNotFound:
		default:
			return bucketRef{}, s3Error(err, bucketRef{Name: name, Zone: z}, "")
		}
	}
	if len(refused) > 0 {
		z := refused[0]
		if s, err := a.resolved(); err == nil {
			for _, r := range refused {
				if r.Name == s.Zone {
					z = r
				}
			}
		}
		if a.guessed == nil {
			a.guessed = map[string]bool{}
		}
		a.guessed[name] = true
		return bucketRef{Name: name, Zone: z}, nil
	}
	return bucketRef{}, fmt.Errorf("bucket %s not found in any zone (%s)", name, strings.Join(names, ", "))
}

// retryMoved runs a command again, once, when it failed because a bucket
// whose zone bucket() had to guess is in another zone.
func (a *app) retryMoved(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		var zr *zoneRedirect
		if err == nil || !errors.As(err, &zr) || zr.Holder == "" || !a.guessed[zr.Bucket] || a.moved[zr.Bucket] != "" {
			return err
		}
		if _, zerr := a.zone(cmd.Context(), zr.Holder); zerr != nil {
			return err
		}
		if a.moved == nil {
			a.moved = map[string]string{}
		}
		a.moved[zr.Bucket] = zr.Holder
		return run(cmd, args)
	}
}

// defaultZone is the zone for a new bucket: --zone, SOS_ZONE or the
// account's zone, or the only zone there is.
func (a *app) defaultZone(ctx context.Context) (zoneInfo, error) {
	s, err := a.resolved()
	if err != nil {
		return zoneInfo{}, err
	}
	if s.Zone != "" {
		return a.zone(ctx, s.Zone)
	}
	zs, err := a.zones(ctx)
	if err != nil {
		return zoneInfo{}, err
	}
	if len(zs) == 1 {
		return zs[0], nil
	}
	var names []string
	for _, z := range zs {
		names = append(names, z.Name)
	}
	return zoneInfo{}, usagef("which zone? use --zone (%s)", strings.Join(names, ", "))
}

// checkBucketName refuses, before any request, a name that breaks S3's
// bucket naming rules (bucketname.Check): no zone holds such a bucket.
func checkBucketName(name string) error {
	if name == "" {
		return usagef("a bucket name is required")
	}
	if err := bucketname.Check(name); err != nil {
		return usageError{err}
	}
	return nil
}

// responseRegion returns the X-Amz-Bucket-Region header and status code of
// a failed S3 call.
func responseRegion(err error) (string, int) {
	if e := s3client.ErrorOf(err); e != nil {
		return e.Region, e.StatusCode
	}
	return "", 0
}

// zoneRedirect is the answer of a zone for a bucket that another zone
// holds.
type zoneRedirect struct {
	Bucket, Asked, Holder string
}

func (e *zoneRedirect) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("bucket %s is not in zone %s", e.Bucket, e.Asked)
	}
	return fmt.Sprintf("bucket %s is in zone %s, not %s: use --zone %s", e.Bucket, e.Holder, e.Asked, e.Holder)
}

// bucketTaken is the answer to creating a bucket whose name is in use.
type bucketTaken struct {
	Bucket, Asked, Holder string
}

func (e *bucketTaken) Error() string {
	switch e.Holder {
	case "":
		return fmt.Sprintf("the bucket name %s is already taken (bucket names are shared by all zones): choose another name", e.Bucket)
	case e.Asked:
		return fmt.Sprintf("bucket %s already exists in zone %s: see it with `sos storage show sos://%s`, or choose another name", e.Bucket, e.Holder, e.Bucket)
	}
	return fmt.Sprintf("bucket %s already exists in zone %s (bucket names are shared by all zones): choose another name, or use that bucket with --zone %s", e.Bucket, e.Holder, e.Holder)
}

// takenError builds the error of a create that found the name taken. The
// zone holding the bucket is the answer's X-Amz-Bucket-Region (region): the
// zone that holds the name on BucketAlreadyExists (none when the zone asked
// does not know it), the zone asked on BucketAlreadyOwnedByYou.
func takenError(code, region string, b bucketRef) *bucketTaken {
	e := &bucketTaken{Bucket: b.Name, Asked: b.Zone.Name, Holder: region}
	if code == "BucketAlreadyOwnedByYou" && e.Holder == "" {
		e.Holder = b.Zone.Name
	}
	return e
}

// deniedError words a 403. A zone's access decision says which operation
// on which bucket and key it refused, and why, in fields of its answer (see
// s3client.Error); without them (HEAD has no body, a refused signature, an
// anonymous request) the message is shown, or the operation the CLI tried
// is named.
func deniedError(e *s3client.Error, op, what string) error {
	if e == nil {
		e = &s3client.Error{}
	}
	if d := e.Denied(); d != "" {
		return fmt.Errorf("access denied: %s", d)
	}
	msg := strings.TrimSpace(e.Message)
	if msg == "" || msg == "Forbidden" || strings.EqualFold(msg, "Access Denied") || strings.EqualFold(msg, "Access Denied.") {
		if op != "" {
			return fmt.Errorf("access denied: %s on %s is not allowed for this API key", op, what)
		}
		return fmt.Errorf("access denied: not allowed on sos://%s", what)
	}
	for _, p := range []string{"Access Denied: ", "Access Denied. ", "AccessDenied: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return fmt.Errorf("access denied: %s", msg)
}

// s3Error turns an S3 error into words: what failed, on which bucket/zone.
func s3Error(err error, b bucketRef, key string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	code, msg, op, region, status := "", "", "", "", 0
	e := s3client.ErrorOf(err)
	if e != nil {
		code, msg, op, region, status = e.Code, e.Message, e.Op, e.Region, e.StatusCode
	}
	what := "sos://" + b.Name
	target := b.Name
	if key != "" {
		what += "/" + key
		target += "/" + key
	}
	switch {
	case code == "NoSuchBucket" || (status == http.StatusNotFound && key == "" && (code == "NotFound" || code == "")):
		return fmt.Errorf("bucket %s not found in zone %s", b.Name, b.Zone.Name)
	case code == "PermanentRedirect" || status == http.StatusMovedPermanently:
		if region == b.Zone.Name {
			region = ""
		}
		return &zoneRedirect{Bucket: b.Name, Asked: b.Zone.Name, Holder: region}
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound && code == "":
		return fmt.Errorf("%s not found", what)
	case code == "NoSuchVersion":
		return fmt.Errorf("%s: no such version", what)
	case code == "AccessDenied" || code == "Forbidden" || status == http.StatusForbidden:
		return deniedError(e, op, target)
	case code == "BucketAlreadyExists" || code == "BucketAlreadyOwnedByYou":
		return takenError(code, region, b)
	case code != "":
		if msg == "" {
			msg = code
		}
		return fmt.Errorf("%s: %s (%s)", what, msg, code)
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	var ce *transport.CleartextError
	if errors.As(err, &ce) {
		return fmt.Errorf("zone %s: %w", b.Zone.Name, ce)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach zone %s at %s: %v", b.Zone.Name, b.Zone.SOSEndpoint, ue.Err)
	}
	return fmt.Errorf("%s: %v", what, err)
}
