package s3api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"sos/internal/object"
	"sos/internal/replconfig"
	"sos/internal/s3err"
)

// Replication serves the sos-replication-* extensions of a zone (the
// replication workers implement it, through an adapter in the composition
// root). Errors are object.Err* values where they apply.
type Replication interface {
	// Status reports the replication state of a source bucket as a value
	// that encodes to the JSON of GET ?sos-replication-status (see
	// replication.StatusReport).
	Status(ctx context.Context, bucket string) (any, error)
	// Resync queues the bucket's existing versions that are not yet
	// replicated; it returns how many it queued.
	Resync(ctx context.Context, bucket string) (queued int, err error)
	// Retry puts FAILED entries back to pending; it returns how many.
	Retry(ctx context.Context, bucket string) (retried int, err error)
}

func (h *Handler) putBucketReplication(req *request) error {
	body, err := xmlBody(req, replconfig.MaxXMLBytes)
	if err != nil {
		return err
	}
	cfg, err := replconfig.ReadXML(body)
	if err != nil {
		return err
	}
	if h.roles != nil {
		exists, refusal := h.roles.PassRole(req.principal, cfg.Role)
		if !exists {
			return s3err.New(s3err.InvalidArgument, fmt.Sprintf(
				"Invalid ReplicationConfiguration: the role %q does not exist; Role must be the UUID of an IAM role.", clip(cfg.Role)))
		}
		if refusal != "" {
			// The workers would act as this role: a key may not lend
			// itself a stronger one through a replication configuration.
			e := s3err.New(s3err.AccessDenied, fmt.Sprintf(
				"Access Denied: put-bucket-replication on bucket %s may not name role %s (%s).", req.bucket, clip(cfg.Role), refusal))
			e.Operation, e.BucketName, e.Role, e.Reason = "put-bucket-replication", req.bucket, req.principal.RoleName, refusal
			return e
		}
	}
	if err := h.objects.SetReplication(req.r.Context(), req.bucket, cfg); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// replicationConfig returns the bucket's configuration, or
// ReplicationConfigurationNotFoundError.
func (h *Handler) replicationConfig(req *request) (*replconfig.Config, error) {
	cfg, err := h.objects.Replication(req.r.Context(), req.bucket)
	if errors.Is(err, object.ErrReplicationConfigNotFound) {
		e := s3err.New(s3err.ReplicationConfigurationNotFoundError, "")
		e.BucketName = req.bucket
		return nil, e
	}
	return cfg, err
}

func (h *Handler) getBucketReplication(req *request) error {
	cfg, err := h.replicationConfig(req)
	if err != nil {
		return err
	}
	body := cfg.XML()
	req.w.Header().Set("Content-Type", "application/xml")
	req.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	req.w.WriteHeader(http.StatusOK)
	_, _ = req.w.Write(body)
	return nil
}

func (h *Handler) deleteBucketReplication(req *request) error {
	if _, err := h.replicationConfig(req); err != nil {
		return err
	}
	if err := h.objects.SetReplication(req.r.Context(), req.bucket, nil); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

func (h *Handler) replicationExtension(req *request) error {
	if h.repl == nil {
		return s3err.New(s3err.NotImplemented, "Replication workers are not running in this zone.")
	}
	_, err := h.replicationConfig(req)
	return err
}

func (h *Handler) replicationStatus(req *request) error {
	if err := h.replicationExtension(req); err != nil {
		return err
	}
	st, err := h.repl.Status(req.r.Context(), req.bucket)
	if err != nil {
		return err
	}
	return writeJSON(req.w, st)
}

func (h *Handler) replicationResync(req *request) error {
	if err := h.replicationExtension(req); err != nil {
		return err
	}
	n, err := h.repl.Resync(req.r.Context(), req.bucket)
	if err != nil {
		return err
	}
	return writeJSON(req.w, map[string]int{"queued": n})
}

func (h *Handler) replicationRetry(req *request) error {
	if err := h.replicationExtension(req); err != nil {
		return err
	}
	n, err := h.repl.Retry(req.r.Context(), req.bucket)
	if err != nil {
		return err
	}
	return writeJSON(req.w, map[string]int{"retried": n})
}
