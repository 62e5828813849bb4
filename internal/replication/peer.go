package replication

import (
	"context"
	"net/http"
	"sync"
	"time"

	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/s3client"
)

// credCache keeps temporary credentials per (role, destination zone) until
// a quarter of their lifetime is left.
type credCache struct {
	src Credentials
	now func() time.Time
	mu  sync.Mutex
	m   map[credKey]cachedCreds
}

// credKey names credentials of a role accepted by one zone.
type credKey struct{ role, zone string }

type cachedCreds struct {
	c       iam.TempCredentials
	fetched time.Time
}

func newCredCache(src Credentials, now func() time.Time) *credCache {
	return &credCache{src: src, now: now, m: map[credKey]cachedCreds{}}
}

// get returns credentials of role that zone (the destination) accepts.
func (cc *credCache) get(ctx context.Context, role, zone string) (iam.TempCredentials, error) {
	now := cc.now()
	k := credKey{role, zone}
	cc.mu.Lock()
	c, ok := cc.m[k]
	cc.mu.Unlock()
	if ok && c.c.Expiration.Sub(now) > c.c.Expiration.Sub(c.fetched)/4 {
		return c.c, nil
	}
	creds, err := cc.src.RoleCredentials(ctx, role, zone)
	if err != nil {
		return iam.TempCredentials{}, err
	}
	cc.mu.Lock()
	cc.m[k] = cachedCreds{c: creds, fetched: now}
	cc.mu.Unlock()
	return creds, nil
}

// forget drops the credentials of role for every zone.
func (cc *credCache) forget(role string) {
	cc.mu.Lock()
	for k := range cc.m {
		if k.role == role {
			delete(cc.m, k)
		}
	}
	cc.mu.Unlock()
}

// peerClients holds one replica writer per destination zone endpoint.
type peerClients struct {
	hc      *http.Client
	timeout time.Duration
	mu      sync.Mutex
	m       map[string]*s3client.Replicas
}

func newPeerClients(hc *http.Client, timeout time.Duration) *peerClients {
	return &peerClients{hc: hc, timeout: timeout, m: map[string]*s3client.Replicas{}}
}

func (pc *peerClients) get(zone, endpoint string) *s3client.Replicas {
	k := zone + "\x00" + endpoint
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if p := pc.m[k]; p != nil {
		return p
	}
	p := s3client.NewReplicas(s3client.Config{Endpoint: endpoint, Region: zone, HTTPClient: pc.hc}, pc.timeout)
	pc.m[k] = p
	return p
}

// sessionOf is how a role session signs replica writes.
func sessionOf(c iam.TempCredentials) s3client.Credentials {
	return s3client.Credentials{AccessKey: c.AccessKey, Secret: c.Secret, SessionToken: c.SessionToken, Expires: c.Expiration}
}

// replicaOf is version v as a replica write to bucket carries it: a
// multipart version with its part sizes.
func replicaOf(bucket string, v *meta.Version) s3client.Replica {
	var sizes []int64
	if v.PartsCount > 0 && len(v.Parts) == v.PartsCount {
		sizes = make([]int64, len(v.Parts))
		for i, p := range v.Parts {
			sizes[i] = p.Size
		}
	}
	return s3client.Replica{
		PartSizes: sizes,
		Bucket:    bucket, Key: v.Key,
		VersionID: v.VersionID, LastModified: v.LastModified, DeleteMarker: v.IsDeleteMarker,
		ETag: v.ETag, PartsCount: v.PartsCount, Size: v.Size,
		ContentType: v.Attrs.ContentType, CacheControl: v.Attrs.CacheControl,
		ContentDisposition: v.Attrs.ContentDisposition, ContentEncoding: v.Attrs.ContentEncoding,
		ContentLanguage: v.Attrs.ContentLanguage, Expires: v.Attrs.Expires,
		Metadata: v.Attrs.UserMeta, Tags: v.Tags,
	}
}

// isMissingOnDest reports a 404 for the object or version on the
// destination.
func isMissingOnDest(err error) bool {
	switch s3client.Code(err) {
	case "NoSuchKey", "NoSuchVersion", "NotFound":
		return true
	}
	return false
}
