package controlapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sos/internal/control"
	"sos/internal/iam"
)

// Wire types of the internal zone API (/internal/v1/). internal/controlclient
// decodes the same documents with its own types.

// SnapshotJSON is the answer of GET /internal/v1/snapshot. The embedded
// iam.Snapshot gives revision, roles, keys (with secrets), root-key,
// root-secret and temp-key (base64).
type SnapshotJSON struct {
	iam.Snapshot
	Buckets []control.Bucket `json:"buckets"`
	Zones   []control.Zone   `json:"zones"`
}

// RegisterBucketRequest is the body of POST /internal/v1/buckets.
type RegisterBucketRequest struct {
	Name string `json:"name"`
	Zone string `json:"zone"`
}

// RoleCredentialsRequest is the body of POST /internal/v1/role-credentials.
type RoleCredentialsRequest struct {
	RoleID string `json:"role-id"`
	// Zone is the audience: the zone whose S3 endpoint the credentials
	// will be presented to; only that zone accepts them.
	Zone       string `json:"zone"`
	TTLSeconds int64  `json:"ttl-seconds"`
}

// RoleCredentialsJSON is the answer of POST /internal/v1/role-credentials.
type RoleCredentialsJSON struct {
	AccessKey    string    `json:"access-key"`
	Secret       string    `json:"secret"`
	SessionToken string    `json:"session-token"`
	Expiration   time.Time `json:"expiration"`
}

// UsageReport is the body of PUT /internal/v1/usage.
type UsageReport struct {
	Zone    string                `json:"zone"`
	Buckets []control.BucketUsage `json:"buckets"`
}

func snapshotJSON(s control.Snapshot) SnapshotJSON {
	out := SnapshotJSON{Snapshot: s.IAM(), Buckets: s.Buckets, Zones: s.Zones}
	if out.Roles == nil {
		out.Roles = []iam.Role{}
	}
	if out.Keys == nil {
		out.Keys = []iam.APIKey{}
	}
	if out.Buckets == nil {
		out.Buckets = []control.Bucket{}
	}
	if out.Zones == nil {
		out.Zones = []control.Zone{}
	}
	return out
}

// snapshot answers GET /internal/v1/snapshot?since=REV&wait=DURATION: at once
// when the revision is past since (or since is absent), else as soon as a
// change is committed; 304 when wait elapses first.
func (s *server) snapshot(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	sinceStr := q.Get("since")
	if sinceStr == "" {
		writeJSON(w, http.StatusOK, snapshotJSON(s.plane.Snapshot().ForZone(rc.zone)))
		return nil
	}
	since, err := strconv.ParseUint(sinceStr, 10, 64)
	if err != nil {
		return httpErrorf(http.StatusBadRequest, "since=%q is not a revision number", sinceStr)
	}
	wait := DefaultSnapshotWait
	if ws := q.Get("wait"); ws != "" {
		if wait, err = parseWait(ws); err != nil {
			return httpErrorf(http.StatusBadRequest, "wait=%q is not a duration (say 25s or 25)", ws)
		}
	}
	wait = min(wait, s.maxWait)
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	snap, changed := s.plane.WaitSnapshot(ctx, since)
	if !changed {
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		w.Header().Set("X-Sos-Revision", strconv.FormatUint(snap.Revision, 10))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, snapshotJSON(snap.ForZone(rc.zone)))
	return nil
}

func parseWait(s string) (time.Duration, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, strconv.ErrSyntax
	}
	return d, nil
}

// sameZone refuses a zone acting in another zone's name.
func sameZone(rc *reqContext, zone string) error {
	if zone != "" && zone != rc.zone {
		return &AuthError{Message: "zone token of " + rc.zone + " cannot act for zone " + zone}
	}
	return nil
}

func (s *server) registerBucket(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	var req RegisterBucketRequest
	if err := decodeJSON(rc.body, &req); err != nil {
		return err
	}
	if err := sameZone(rc, req.Zone); err != nil {
		return err
	}
	b, err := s.plane.RegisterBucket(r.Context(), req.Name, rc.zone)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *server) unregisterBucket(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := sameZone(rc, r.URL.Query().Get("zone")); err != nil {
		return err
	}
	if err := s.plane.UnregisterBucket(r.Context(), r.PathValue("name"), rc.zone); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) roleCredentials(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	var req RoleCredentialsRequest
	if err := decodeJSON(rc.body, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.RoleID) == "" {
		return httpErrorf(http.StatusBadRequest, "role-id is required")
	}
	if strings.TrimSpace(req.Zone) == "" {
		return httpErrorf(http.StatusBadRequest, "zone (the zone the credentials will be presented to) is required")
	}
	if req.TTLSeconds < 0 {
		return httpErrorf(http.StatusBadRequest, "ttl-seconds must not be negative")
	}
	creds, err := s.plane.RoleCredentials(r.Context(), req.RoleID, req.Zone, time.Duration(min(req.TTLSeconds, 86400))*time.Second)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, RoleCredentialsJSON{
		AccessKey: creds.AccessKey, Secret: creds.Secret,
		SessionToken: creds.SessionToken, Expiration: creds.Expiration.UTC(),
	})
	return nil
}

func (s *server) reportUsage(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	var req UsageReport
	if err := decodeJSON(rc.body, &req); err != nil {
		return err
	}
	if err := sameZone(rc, req.Zone); err != nil {
		return err
	}
	if err := s.plane.ReportUsage(r.Context(), rc.zone, req.Buckets); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
