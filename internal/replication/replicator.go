package replication

import (
	"context"
	"errors"
	"hash/maphash"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/versionid"
)

// Source is what the engine needs of the zone's object service
// (*object.Service implements it).
type Source interface {
	// OpenVersion returns a version with a reader of its data (callers
	// close it). It MUST return an error matching object.ErrNoSuchVersion,
	// object.ErrNoSuchKey, object.ErrNoSuchBucket or meta.ErrNotFound when
	// the version no longer exists. The reader may implement io.ReaderAt
	// (blob-backed data): multipart replication then reads parts in place.
	OpenVersion(ctx context.Context, bucket, key, versionID string) (meta.Version, io.ReadCloser, error)
	// SetReplicationTarget records the state of one destination of a
	// version (and recomputes the version's aggregate status).
	SetReplicationTarget(ctx context.Context, bucket, key, versionID string, t meta.ReplTarget) error
}

// Credentials issues temporary credentials of an IAM role (the control
// plane client implements it). It may wrap ErrUnknownRole when the role does
// not exist; other errors are retried.
type Credentials interface {
	RoleCredentials(ctx context.Context, roleID string) (iam.TempCredentials, error)
}

// Authorizer decides S3 operations for a principal (*iam.Authorizer).
type Authorizer interface {
	Authorize(ctx context.Context, accessKey, sessionToken string, req iam.Request) iam.Decision
}

// Locator finds the zone and S3 endpoint of a bucket (the control plane
// client implements it). ok is false when no zone holds the bucket.
type Locator interface {
	BucketZone(name string) (zone, endpoint string, ok bool)
}

// Options configure a Replicator. Zone, Meta, Source, Creds, Authz and
// Peers are required.
type Options struct {
	Zone   string
	Meta   meta.Store
	Source Source
	Creds  Credentials
	Authz  Authorizer
	Peers  Locator
	// Workers is the number of operations run at once (default 8).
	Workers int
	// Backoff bounds retry delays (default 500ms .. 5m).
	Backoff Backoff
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives the metrics (default: a private registry). Wrap
	// it with a "zone" label when several Replicators share one.
	Registerer prometheus.Registerer

	// MultipartThreshold: larger objects are copied as multipart uploads
	// (default 16 MiB). PartSize is their part size (default 8 MiB, at
	// least 5 MiB).
	MultipartThreshold int64
	PartSize           int64
	// RequestTimeout bounds one S3 request to a destination (default 2m).
	RequestTimeout time.Duration
	// RescanInterval is the longest time between two full passes over the
	// outbox (default 2s); a Wake scans new entries at once.
	RescanInterval time.Duration
	// BatchSize is the number of outbox entries read per scan (default 256).
	BatchSize int
	// HTTPClient, when set, carries the requests to destinations.
	HTTPClient *http.Client
	// Clock makes the IDs of backfill entries; pass the object service's
	// (object.Service.Clock) so that they sort with the entries it writes.
	Clock *versionid.Clock
}

// Replicator runs a zone's replication. Its methods are safe for
// concurrent use.
type Replicator struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	met     *metrics
	peers   *peerClients
	creds   *credCache
	seed    maphash.Seed
	wake    chan struct{} // new entries: scan from the cursor
	rescan  chan struct{} // full pass from the start
	poke    chan struct{} // recompute the next timer
	resyncQ chan string   // buckets to backfill (config change)

	mu          sync.Mutex
	rng         *rand.Rand
	inflight    map[string]bool   // entry IDs being processed
	inflightKey map[uint64]int    // key hashes being processed
	keyWaiters  bool              // an entry was skipped behind an in-flight one
	dests       map[string]*dest  // destination bucket -> health
	roleGen     map[string]uint64 // role ID -> changes seen (OnRoleChange)
	dueAt       time.Time         // earliest NextTry reported by workers
	outboxMu    sync.Mutex        // serializes read-modify-write of outbox entries
	running     bool
}

// dest is the health of one destination bucket.
type dest struct {
	failures  int
	downUntil time.Time
}

// New checks opts and builds a Replicator; Run starts it.
func New(opts Options) (*Replicator, error) {
	switch {
	case opts.Zone == "":
		return nil, errors.New("replication: Options.Zone is required")
	case opts.Meta == nil:
		return nil, errors.New("replication: Options.Meta is required")
	case opts.Source == nil:
		return nil, errors.New("replication: Options.Source is required")
	case opts.Creds == nil:
		return nil, errors.New("replication: Options.Creds is required")
	case opts.Authz == nil:
		return nil, errors.New("replication: Options.Authz is required")
	case opts.Peers == nil:
		return nil, errors.New("replication: Options.Peers is required")
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	opts.Backoff = opts.Backoff.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.MultipartThreshold <= 0 {
		opts.MultipartThreshold = 16 << 20
	}
	if opts.PartSize <= 0 {
		opts.PartSize = 8 << 20
	}
	if opts.PartSize < 5<<20 {
		opts.PartSize = 5 << 20
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 2 * time.Minute
	}
	if opts.RescanInterval <= 0 {
		opts.RescanInterval = 2 * time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	met, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = opts.Workers * 2
		tr.ResponseHeaderTimeout = opts.RequestTimeout
		hc = &http.Client{Transport: tr}
	}
	r := &Replicator{
		opts:        opts,
		log:         opts.Logger.With("component", "replication", "zone", opts.Zone),
		now:         opts.Now,
		met:         met,
		peers:       newPeerClients(hc),
		creds:       newCredCache(opts.Creds, opts.Now),
		seed:        maphash.MakeSeed(),
		wake:        make(chan struct{}, 1),
		rescan:      make(chan struct{}, 1),
		poke:        make(chan struct{}, 1),
		resyncQ:     make(chan string, 64),
		rng:         rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
		inflight:    map[string]bool{},
		inflightKey: map[uint64]int{},
		dests:       map[string]*dest{},
		roleGen:     map[string]uint64{},
	}
	return r, nil
}

// Wake tells the workers that new outbox entries were committed.
func (r *Replicator) Wake() { signal(r.wake) }

// kick asks for a full pass over the outbox.
func (r *Replicator) kick() { signal(r.rescan) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Conflict counts a concurrent write of key in two zones (the object
// service's OnConflict hook calls it).
func (r *Replicator) Conflict(bucket, key string) {
	r.met.conflicts.WithLabelValues(bucket).Inc()
	r.log.Info("replication conflict: the key was written in two zones concurrently; the newest version wins in both", "bucket", bucket, "key", key)
}

func (r *Replicator) keyHash(e *meta.OutboxEntry) uint64 {
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(e.Bucket)
	h.WriteByte(0)
	h.WriteString(e.Key)
	h.WriteByte(0)
	h.WriteString(e.DestBucket)
	return h.Sum64()
}

// Run replicates until ctx is done, then waits for the operations in
// flight to stop and returns ctx's error. Only one Run at a time.
func (r *Replicator) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("replication: Run is already running")
	}
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.inflight = map[string]bool{}
		r.inflightKey = map[uint64]int{}
		r.mu.Unlock()
	}()

	work := make(chan meta.OutboxEntry)
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				r.process(ctx, e)
				r.finish(e)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.resyncLoop(ctx)
	}()
	err := r.dispatch(ctx, work)
	close(work)
	wg.Wait()
	return err
}

func (r *Replicator) finish(e meta.OutboxEntry) {
	h := r.keyHash(&e)
	r.mu.Lock()
	delete(r.inflight, e.ID)
	if r.inflightKey[h]--; r.inflightKey[h] <= 0 {
		delete(r.inflightKey, h)
	}
	waiters := r.keyWaiters
	r.mu.Unlock()
	if waiters {
		r.kick()
	}
}

func (r *Replicator) resyncLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-r.resyncQ:
			n, err := r.Resync(ctx, b)
			if err != nil && ctx.Err() == nil {
				r.log.Error("backfill after a configuration change failed", "bucket", b, "err", err)
			} else if n > 0 {
				r.log.Info("backfill queued existing versions", "bucket", b, "queued", n)
			}
		}
	}
}

// pass is the state of one pass over the outbox, from the start.
type pass struct {
	cursor  string
	notDue  map[uint64]struct{} // keys with an entry waiting for its NextTry
	nextDue time.Time
	stats   map[ruleKey]*ruleStats
}

func (p *pass) due(t time.Time) {
	if p.nextDue.IsZero() || t.Before(p.nextDue) {
		p.nextDue = t
	}
}

func (r *Replicator) dispatch(ctx context.Context, work chan<- meta.OutboxEntry) error {
	full := true
	var p *pass
	for {
		if full {
			p = &pass{notDue: map[uint64]struct{}{}, stats: map[ruleKey]*ruleStats{}}
			r.mu.Lock()
			r.keyWaiters = false
			r.dueAt = time.Time{}
			r.mu.Unlock()
		}
		done, err := r.scan(ctx, p, work)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.log.Error("reading the outbox failed", "err", err)
			p.due(r.now().Add(r.opts.Backoff.Min))
		}
		if full && done {
			r.met.publish(p.stats, r.now())
		}
		for {
			wait := r.opts.RescanInterval
			next := p.nextDue
			r.mu.Lock()
			if !r.dueAt.IsZero() && (next.IsZero() || r.dueAt.Before(next)) {
				next = r.dueAt
			}
			r.mu.Unlock()
			if !next.IsZero() {
				if d := next.Sub(r.now()); d < wait {
					wait = max(d, time.Millisecond)
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-r.wake:
				full = false
			case <-r.rescan:
				full = true
			case <-r.poke:
				t.Stop()
				continue
			case <-t.C:
				full = true
			}
			t.Stop()
			break
		}
	}
}

// scan reads the outbox from p.cursor in batches and hands due entries to
// the workers. done reports that the end of the outbox was reached.
func (r *Replicator) scan(ctx context.Context, p *pass, work chan<- meta.OutboxEntry) (done bool, err error) {
	batch := make([]meta.OutboxEntry, 0, r.opts.BatchSize)
	for {
		batch = batch[:0]
		err := r.opts.Meta.ScanOutbox(ctx, p.cursor, func(e meta.OutboxEntry) error {
			batch = append(batch, e)
			if len(batch) >= r.opts.BatchSize {
				return meta.ErrStop
			}
			return nil
		})
		if err != nil {
			return false, err
		}
		if len(batch) == 0 {
			return true, nil
		}
		for i := range batch {
			e := batch[i]
			p.cursor = e.ID
			r.count(p, &e)
			if e.State != meta.OutboxPending {
				continue
			}
			if !r.admit(p, &e) {
				continue
			}
			select {
			case work <- e:
			case <-ctx.Done():
				r.finish(e)
				return false, ctx.Err()
			}
		}
	}
}

func (r *Replicator) count(p *pass, e *meta.OutboxEntry) {
	k := ruleKey{e.Bucket, e.RuleID, e.DestBucket}
	s := p.stats[k]
	if s == nil {
		s = &ruleStats{}
		p.stats[k] = s
	}
	if e.State == meta.OutboxFailed {
		s.failed++
		return
	}
	s.pending++
	s.pendingBytes += e.Size
	if s.oldest.IsZero() || e.CreatedAt.Before(s.oldest) {
		s.oldest = e.CreatedAt
	}
}

// admit decides whether a pending entry runs now, and marks it in flight.
// Entries of one key and destination run one at a time, in ID order.
func (r *Replicator) admit(p *pass, e *meta.OutboxEntry) bool {
	now := r.now()
	h := r.keyHash(e)
	if _, ok := p.notDue[h]; ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight[e.ID] || r.inflightKey[h] > 0 {
		r.keyWaiters = true
		return false
	}
	if d := r.dests[e.DestBucket]; d != nil && d.downUntil.After(now) {
		p.due(d.downUntil)
		return false
	}
	if e.NextTry.After(now) {
		p.notDue[h] = struct{}{}
		p.due(e.NextTry)
		return false
	}
	r.inflight[e.ID] = true
	r.inflightKey[h]++
	return true
}

// jitter returns a random fraction in [0,1).
func (r *Replicator) jitter() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64()
}

// noteDue tells the dispatcher about an entry or destination due at t.
func (r *Replicator) noteDue(t time.Time) {
	r.mu.Lock()
	if r.dueAt.IsZero() || t.Before(r.dueAt) {
		r.dueAt = t
	}
	r.mu.Unlock()
	signal(r.poke)
}
