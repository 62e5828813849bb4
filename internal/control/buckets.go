package control

import (
	"context"
	"sort"
	"time"

	"sos/internal/bucketname"
)

// Bucket is an entry of the global bucket namespace.
type Bucket struct {
	Name      string    `json:"name"`
	Zone      string    `json:"zone"`
	CreatedAt time.Time `json:"created-at"`
}

// BucketUsage is what a zone reports about one of its buckets.
type BucketUsage struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	Objects int64  `json:"objects"`
}

// UsageRow is one line of the bucket usage listing.
type UsageRow struct {
	Name      string
	Zone      string
	Size      int64
	Objects   int64
	CreatedAt time.Time
	// ReportedAt is when the zone last reported usage (zero: never).
	ReportedAt time.Time
}

// ValidBucketName applies S3's bucket naming rules (bucketname.Check) and
// says why a name breaks them in an ErrInvalid error.
func ValidBucketName(name string) error {
	if err := bucketname.Check(name); err != nil {
		return fieldErrorf("name", ErrInvalid, "%s", err)
	}
	return nil
}

// RegisterBucket claims name for zone in the global namespace. It fails with
// *BucketAlreadyOwnedByYouError when zone has it already and with
// *BucketAlreadyExistsError when another zone has it.
func (p *Plane) RegisterBucket(ctx context.Context, name, zone string) (Bucket, error) {
	if err := ctx.Err(); err != nil {
		return Bucket{}, err
	}
	if err := ValidBucketName(name); err != nil {
		return Bucket{}, err
	}
	if _, ok := p.Zone(zone); !ok {
		return Bucket{}, fieldErrorf("zone", ErrInvalid, "zone %q is not configured", zone)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.buckets[name]; ok {
		if cur.Zone == zone {
			return *cur, &BucketAlreadyOwnedByYouError{Name: name, Zone: zone}
		}
		return Bucket{}, &BucketAlreadyExistsError{Name: name, Zone: cur.Zone}
	}
	b := &Bucket{Name: name, Zone: zone, CreatedAt: p.now().UTC()}
	w := p.store.batch()
	w.putJSON(prefixBucket+name, b)
	if err := p.commitLocked(w); err != nil {
		return Bucket{}, err
	}
	p.buckets[name] = b
	p.logger.Info("bucket registered", "bucket", name, "zone", zone)
	return *b, nil
}

// UnregisterBucket releases name, which must belong to zone.
func (p *Plane) UnregisterBucket(ctx context.Context, name, zone string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, ok := p.buckets[name]
	if !ok {
		return errorf(ErrNotFound, "bucket %q is not registered", name)
	}
	if cur.Zone != zone {
		return errorf(ErrConflict, "bucket %q belongs to zone %s, not %s", name, cur.Zone, zone)
	}
	w := p.store.batch()
	w.delete(prefixBucket + name)
	if err := p.commitLocked(w); err != nil {
		return err
	}
	delete(p.buckets, name)
	if u := p.usage[zone]; u != nil {
		delete(u, name)
	}
	p.logger.Info("bucket released", "bucket", name, "zone", zone)
	return nil
}

// Buckets lists the bucket registry by name.
func (p *Plane) Buckets() []Bucket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bucketsLocked()
}

func (p *Plane) bucketsLocked() []Bucket {
	out := make([]Bucket, 0, len(p.buckets))
	for _, b := range p.buckets {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ReportUsage replaces what zone said about its buckets. Usage is kept in
// memory only: zones report it every few seconds. Buckets that are not
// registered to zone are ignored.
func (p *Plane) ReportUsage(ctx context.Context, zone string, buckets []BucketUsage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := p.Zone(zone); !ok {
		return fieldErrorf("zone", ErrInvalid, "zone %q is not configured", zone)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string]BucketUsage, len(buckets))
	for _, b := range buckets {
		if cur, ok := p.buckets[b.Name]; ok && cur.Zone == zone {
			m[b.Name] = b
		}
	}
	p.usage[zone] = m
	p.usageAt[zone] = p.now().UTC()
	return nil
}

// Usage lists every registered bucket with the size and object count its
// zone last reported (zero before the first report), by name.
func (p *Plane) Usage(ctx context.Context) ([]UsageRow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]UsageRow, 0, len(p.buckets))
	for _, b := range p.bucketsLocked() {
		u := p.usage[b.Zone][b.Name]
		out = append(out, UsageRow{
			Name: b.Name, Zone: b.Zone, Size: u.Size, Objects: u.Objects,
			CreatedAt: b.CreatedAt, ReportedAt: p.usageAt[b.Zone],
		})
	}
	return out, nil
}
