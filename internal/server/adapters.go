package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"sos/internal/controlclient"
	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/replication"
	"sos/internal/s3client"
	"sos/internal/transport"
)

// registry is the global bucket namespace as the object service needs it.
type registry struct {
	cc  *controlclient.Client
	log *slog.Logger
}

func (r registry) Register(ctx context.Context, name string) error {
	err := r.cc.RegisterBucket(ctx, name)
	var (
		exists controlclient.ErrBucketAlreadyExists
		apiErr *controlclient.APIError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exists):
		return &object.BucketTakenError{Bucket: name, Zone: exists.Zone}
	case errors.Is(err, controlclient.ErrBucketAlreadyOwnedByYou):
		return fmt.Errorf("%w: %s", object.ErrBucketOwnedByYou, name)
	case errors.As(err, &apiErr) || ctx.Err() != nil:
		return err
	}
	// The control plane did not answer: a new name cannot be claimed now.
	// Say so with a 503 (which clients retry), not an internal error.
	r.log.Warn("cannot register a bucket name: the control plane is unreachable", "bucket", name, "err", err)
	return fmt.Errorf("%w: the control plane cannot be reached to register the bucket name %s; try again later", object.ErrUnavailable, name)
}

func (r registry) Unregister(ctx context.Context, name string) error {
	err := r.cc.UnregisterBucket(ctx, name)
	if errors.Is(err, controlclient.ErrNotFound) {
		return nil
	}
	return err
}

// destinations checks replication destinations: the bucket must exist in
// some zone and have versioning Enabled there. Other zones are asked over
// S3 with the root key the control plane shares with zones.
type destinations struct {
	zone string
	cc   *controlclient.Client
	hc   *http.Client // verified TLS, no credentials in clear to other hosts
}

func (d *destinations) CheckDestination(ctx context.Context, bucket string) error {
	zone, endpoint, ok := d.cc.BucketZone(bucket)
	if !ok {
		return fmt.Errorf("%w: destination bucket %s does not exist", object.ErrInvalidRequest, bucket)
	}
	key, secret := d.cc.Authorizer().RootCredentials()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	status, err := s3client.NewRaw(s3client.Config{Endpoint: endpoint, Region: zone, AccessKey: key, Secret: secret, HTTPClient: d.hc}).
		BucketVersioning(ctx, bucket)
	if e := s3client.ErrorOf(err); e != nil {
		if e.StatusCode >= 500 {
			return fmt.Errorf("%w: zone %s answered HTTP %d when checking destination bucket %s", object.ErrUnavailable, zone, e.StatusCode, bucket)
		}
		return fmt.Errorf("checking destination bucket %s in zone %s: HTTP %d", bucket, zone, e.StatusCode)
	}
	var ce *transport.CleartextError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: destination bucket %s in zone %s cannot be checked: %v", object.ErrInvalidRequest, bucket, zone, ce)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%w: destination bucket %s in zone %s cannot be checked now: %v", object.ErrUnavailable, bucket, zone, err)
	}
	if err != nil {
		return fmt.Errorf("checking destination bucket %s in zone %s: %w", bucket, zone, err)
	}
	if status != "Enabled" {
		return fmt.Errorf("%w: destination bucket %s must have versioning Enabled", object.ErrInvalidRequest, bucket)
	}
	return nil
}

// locator is the global bucket namespace as the S3 handler needs it.
type locator struct{ *controlclient.Client }

func (l locator) Buckets() []meta.Bucket {
	bs := l.Client.Buckets()
	out := make([]meta.Bucket, len(bs))
	for i, b := range bs {
		out[i] = meta.Bucket{Name: b.Name, Zone: b.Zone, CreatedAt: b.CreatedAt}
	}
	return out
}

// replStatus serves the sos-replication-* extensions from the replicator.
type replStatus struct{ r *replication.Replicator }

func (s replStatus) Status(ctx context.Context, bucket string) (any, error) {
	return s.r.Status(ctx, bucket)
}

func (s replStatus) Resync(ctx context.Context, bucket string) (int, error) {
	return s.r.Resync(ctx, bucket)
}
func (s replStatus) Retry(ctx context.Context, bucket string) (int, error) {
	return s.r.RetryFailed(ctx, bucket)
}

// usageInterval is how often a zone reports its buckets' sizes, at the
// most: the sums are read from metadata, so a zone whose scan takes longer
// waits twenty times the scan between reports (at most 5% of its time).
const usageInterval = 5 * time.Second

// reportUsage sends the zone's bucket usage to the control plane until ctx
// ends.
func reportUsage(ctx context.Context, svc *object.Service, cc *controlclient.Client, log *slog.Logger) {
	wait := usageInterval
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		usage, err := svc.Usage(ctx)
		wait = max(usageInterval, 20*time.Since(start))
		if err == nil {
			out := make([]controlclient.BucketUsage, len(usage))
			for i, u := range usage {
				out[i] = controlclient.BucketUsage{Name: u.Bucket, Size: u.Size, Objects: u.Objects}
			}
			err = cc.ReportUsage(ctx, out)
		}
		if err != nil && !failing && ctx.Err() == nil {
			log.Warn("cannot report bucket usage", "err", err)
		}
		failing = err != nil
	}
}
