package s3client

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"sos/internal/replconfig"
)

// maxAnswer bounds the body read from a raw call's answer.
const maxAnswer = 64 << 20

// ReplicationStatus is the answer of GET /{bucket}?sos-replication-status
// (the zone serves replication.StatusReport; this is its wire form, kept
// here so that clients need not import the replication workers).
type ReplicationStatus struct {
	Bucket string       `json:"bucket"`
	Rules  []RuleStatus `json:"rules"`
}

// RuleStatus is the state of one rule (and destination).
type RuleStatus struct {
	ID                   string        `json:"id"`
	Destination          string        `json:"destination"`
	Status               string        `json:"status"` // Enabled, Disabled, or Removed
	Pending              int64         `json:"pending"`
	PendingBytes         int64         `json:"pending-bytes"`
	Failed               int64         `json:"failed"`
	Completed            int64         `json:"completed"`
	OldestPendingSeconds float64       `json:"oldest-pending-seconds"`
	Failures             []FailureInfo `json:"failures"`
}

// FailureInfo is one FAILED version and why.
type FailureInfo struct {
	Key       string `json:"key"`
	VersionID string `json:"version-id"`
	Reason    string `json:"reason"`
}

// Replication is a zone's bucket replication calls: the configuration as
// sos's XML and the sos-replication-* extensions, sent as Raw requests.
// Failures are an *Error for an S3 error answer, or the HTTP client's error
// (a *url.Error) when the zone was not reached.
type Replication struct {
	region string
	raw    *Raw
}

// NewReplication returns the replication calls of the zone cfg names.
// cfg.MaxAttempts and cfg.SDKChecksums do not apply.
func NewReplication(cfg Config) *Replication {
	return &Replication{region: cfg.Region, raw: NewRaw(cfg)}
}

// GetConfig returns bucket's replication configuration. A bucket without
// one answers an *Error with code ReplicationConfigurationNotFoundError.
func (r *Replication) GetConfig(ctx context.Context, bucket string) (*replconfig.Config, error) {
	data, err := r.do(ctx, "get-bucket-replication", http.MethodGet, bucket, "replication", nil)
	if err != nil {
		return nil, err
	}
	cfg, err := replconfig.ParseXML(data)
	if err != nil {
		return nil, fmt.Errorf("zone %s answered a replication configuration that cannot be read: %w", r.region, err)
	}
	return cfg, nil
}

// PutConfig sets bucket's replication configuration.
func (r *Replication) PutConfig(ctx context.Context, bucket string, cfg *replconfig.Config) error {
	if cfg == nil {
		return fmt.Errorf("s3client: PutConfig of bucket %s needs a configuration (DeleteConfig removes one)", bucket)
	}
	_, err := r.do(ctx, "put-bucket-replication", http.MethodPut, bucket, "replication", cfg.XML())
	return err
}

// DeleteConfig removes bucket's replication configuration.
func (r *Replication) DeleteConfig(ctx context.Context, bucket string) error {
	_, err := r.do(ctx, "delete-bucket-replication", http.MethodDelete, bucket, "replication", nil)
	return err
}

// Status returns bucket's replication state per rule.
func (r *Replication) Status(ctx context.Context, bucket string) (ReplicationStatus, error) {
	data, err := r.do(ctx, "get-bucket-replication", http.MethodGet, bucket, "sos-replication-status", nil)
	if err != nil {
		return ReplicationStatus{}, err
	}
	var s ReplicationStatus
	if err := json.Unmarshal(data, &s); err != nil {
		return ReplicationStatus{}, fmt.Errorf("zone %s answered a replication status that cannot be read: %w", r.region, err)
	}
	if s.Bucket == "" {
		s.Bucket = bucket
	}
	return s, nil
}

// Resync queues bucket's existing versions that are not replicated yet
// (backfill) and returns how many it queued.
func (r *Replication) Resync(ctx context.Context, bucket string) (queued int64, err error) {
	return r.count(ctx, bucket, "sos-replication-resync", "queued")
}

// Retry puts bucket's FAILED versions back to pending and returns how
// many.
func (r *Replication) Retry(ctx context.Context, bucket string) (retried int64, err error) {
	return r.count(ctx, bucket, "sos-replication-retry", "retried")
}

func (r *Replication) count(ctx context.Context, bucket, sub, field string) (int64, error) {
	data, err := r.do(ctx, "put-bucket-replication", http.MethodPost, bucket, sub, nil)
	if err != nil {
		return 0, err
	}
	var out map[string]int64
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("zone %s answered %s with something that cannot be read: %w", r.region, sub, err)
	}
	n, ok := out[field]
	if !ok {
		return 0, fmt.Errorf("zone %s answered %s without %q", r.region, sub, field)
	}
	return n, nil
}

// do sends one signed request on bucket?query and returns the body of a
// 2xx answer.
func (r *Replication) do(ctx context.Context, op, method, bucket, query string, body []byte) ([]byte, error) {
	var h http.Header
	if len(body) > 0 {
		m := md5.Sum(body)
		h = http.Header{}
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(m[:]))
		h.Set("Content-Type", "application/xml")
	}
	res, err := r.raw.Do(ctx, RawRequest{Op: op, Method: method, Bucket: bucket, Query: query, Body: body, Header: h})
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of zone %s to %s: %w", r.region, op, err)
	}
	return data, nil
}
