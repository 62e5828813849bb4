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
	"sos/internal/transport"
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

// Credentials issues temporary credentials of an IAM role that zone (the
// destination they are presented to) accepts (the control plane client
// implements it). It may wrap ErrUnknownRole when the role does
// not exist; other errors are retried.
type Credentials interface {
	RoleCredentials(ctx context.Context, roleID, zone string) (iam.TempCredentials, error)
}

// Authorizer decides S3 operations for a role (*iam.Authorizer): the
// workers check that the configuration's role may read the source here
// before sending (the role's credentials are minted for the destination
// zone and verify only there).
type Authorizer interface {
	AuthorizeRole(roleID string, req iam.Request) iam.Decision
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
	// Time is the wall clock and the timers (default the real ones).
	Time   Clock
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
	// HTTPClient, when set, carries the requests to destinations (the
	// zone's, from internal/transport with its --ca and --insecure-http);
	// nil means one of internal/transport with the system roots.
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
	roles   roleChanges // policies of the last snapshot of roles
	seed    maphash.Seed
	wake    chan struct{} // new entries: scan from the cursor
	rescan  chan struct{} // full pass from the start
	poke    chan struct{} // recompute the next timer
	resume  chan struct{} // keys in ready: scan them again
	resyncQ chan string   // buckets to backfill (config change)

	mu          sync.Mutex
	rng         *rand.Rand
	inflight    map[string]bool   // entry IDs being processed
	inflightKey map[uint64]string // key hashes being processed -> scan cursor just before their entry
	// waiting holds the in-flight keys that have entries skipped behind
	// them, with the scan cursor just before the first one skipped; ready
	// holds the keys whose entry finished while they had waiters, with the
	// cursor to scan them again from. Both have at most one item per
	// in-flight key (at most Workers), however large the outbox.
	waiting  map[uint64]string
	ready    map[uint64]string
	dests    map[string]*dest  // destination bucket -> health
	roleGen  map[string]uint64 // role ID -> changes seen (OnRoleChange)
	dueAt    time.Time         // earliest NextTry reported by workers
	outboxMu sync.Mutex        // serializes read-modify-write of outbox entries
	running  bool
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
	if opts.Time == nil {
		opts.Time = wallClock{}
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
		// The system roots; no credentials in clear to other hosts.
		trust, err := transport.Load(transport.Options{})
		if err != nil {
			return nil, err
		}
		hc = trust.Client(transport.Tuning{MaxIdleConnsPerHost: opts.Workers * 2, ResponseHeaderTimeout: opts.RequestTimeout})
	}
	r := &Replicator{
		opts:        opts,
		log:         opts.Logger.With("component", "replication", "zone", opts.Zone),
		now:         opts.Time.Now,
		met:         met,
		peers:       newPeerClients(hc, opts.RequestTimeout),
		creds:       newCredCache(opts.Creds, opts.Time.Now),
		seed:        maphash.MakeSeed(),
		wake:        make(chan struct{}, 1),
		rescan:      make(chan struct{}, 1),
		poke:        make(chan struct{}, 1),
		resume:      make(chan struct{}, 1),
		resyncQ:     make(chan string, 64),
		rng:         rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
		inflight:    map[string]bool{},
		inflightKey: map[uint64]string{},
		waiting:     map[uint64]string{},
		ready:       map[uint64]string{},
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
		r.inflightKey = map[uint64]string{}
		r.waiting = map[uint64]string{}
		r.ready = map[uint64]string{}
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

// finish ends an entry's turn. When entries of its key were skipped
// behind it, the dispatcher scans that key again from just before the
// finished entry (which is still there if it is to be retried, and then
// holds the others back): only the stretch of the outbox up to the key's
// next entry is read, not the whole outbox.
func (r *Replicator) finish(e meta.OutboxEntry) {
	h := r.keyHash(&e)
	r.mu.Lock()
	delete(r.inflight, e.ID)
	after, ok := r.inflightKey[h]
	delete(r.inflightKey, h)
	w, waiters := r.waiting[h]
	if waiters {
		delete(r.waiting, h)
		if ok {
			w = min(w, after)
		}
		if c, queued := r.ready[h]; queued {
			w = min(w, c)
		}
		r.ready[h] = w
	}
	r.mu.Unlock()
	if waiters {
		signal(r.resume)
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
	cursor string
	// blocked holds the keys with an entry that is not due yet (or whose
	// destination is paused): their later entries do not run before it.
	blocked map[uint64]struct{}
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
	// lastFull is when the last full pass began: new-entry signals must not
	// put the next one off, or under steady writes an entry committed out
	// of ID order behind the cursor (or a retry that came due) would wait
	// for as long as the writes go on.
	var lastFull time.Time
	for {
		if full {
			lastFull = r.now()
			p = &pass{blocked: map[uint64]struct{}{}, stats: map[ruleKey]*ruleStats{}}
			r.mu.Lock()
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
			wait := max(r.opts.RescanInterval-r.now().Sub(lastFull), time.Millisecond)
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
			t := r.opts.Time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-r.wake:
				full = r.now().Sub(lastFull) >= r.opts.RescanInterval
			case <-r.rescan:
				full = true
			case <-r.poke:
				t.Stop()
				continue
			case <-r.resume:
				t.Stop()
				if err := r.resumeKeys(ctx, p, work); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					r.log.Error("reading the outbox failed", "err", err)
					r.kick()
				}
				continue
			case <-t.C():
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
	read := func(each func(meta.OutboxEntry) error) error { return r.opts.Meta.ScanOutbox(ctx, p.cursor, each) }
	err = inBatches(r.opts.BatchSize, read, func(batch []meta.OutboxEntry) error {
		for i := range batch {
			e := batch[i]
			after := p.cursor
			p.cursor = e.ID
			r.count(p, &e)
			if e.State != meta.OutboxPending {
				continue
			}
			if !r.admit(p, &e, after) {
				continue
			}
			if err := r.send(ctx, work, e); err != nil {
				return err
			}
		}
		return r.resumeKeys(ctx, p, work)
	})
	return err == nil, err
}

func (r *Replicator) send(ctx context.Context, work chan<- meta.OutboxEntry, e meta.OutboxEntry) error {
	select {
	case work <- e:
		return nil
	case <-ctx.Done():
		r.finish(e)
		return ctx.Err()
	}
}

// resumeKeys scans again the keys in r.ready (see finish).
func (r *Replicator) resumeKeys(ctx context.Context, p *pass, work chan<- meta.OutboxEntry) error {
	for {
		r.mu.Lock()
		var h uint64
		var after string
		found := false
		for k, c := range r.ready {
			h, after, found = k, c, true
			delete(r.ready, k)
			break
		}
		r.mu.Unlock()
		if !found {
			return nil
		}
		if err := r.resumeKey(ctx, p, work, h, after); err != nil {
			r.mu.Lock()
			if c, ok := r.ready[h]; !ok || after < c {
				r.ready[h] = after
			}
			r.mu.Unlock()
			return err
		}
	}
}

// resumeKey walks the entries of key hash h after the cursor after, in ID
// order, running them while they may run. It stops at the first one that
// may not (behind an in-flight entry of the key, which records it as
// waiting again, or not due yet) or at the end of the outbox; entries of
// other keys are stepped over.
func (r *Replicator) resumeKey(ctx context.Context, p *pass, work chan<- meta.OutboxEntry, h uint64, after string) error {
	for {
		var e meta.OutboxEntry
		found := false
		prev := after
		err := r.opts.Meta.ScanOutbox(ctx, after, func(x meta.OutboxEntry) error {
			if r.keyHash(&x) != h {
				prev = x.ID
				return nil
			}
			e, found = x, true
			return meta.ErrStop
		})
		if err != nil || !found {
			return err
		}
		after = e.ID
		if e.State != meta.OutboxPending {
			continue
		}
		ok, later := r.tryAdmit(&e, prev)
		if !ok {
			if !later.IsZero() {
				p.due(later)
				p.blocked[h] = struct{}{}
			}
			return nil
		}
		if err := r.send(ctx, work, e); err != nil {
			return err
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

// admit decides in a pass whether a pending entry runs now, and marks it
// in flight; after is the scan cursor just before it. Entries of one key
// and destination run one at a time, in ID order.
func (r *Replicator) admit(p *pass, e *meta.OutboxEntry, after string) bool {
	h := r.keyHash(e)
	if _, ok := p.blocked[h]; ok {
		return false
	}
	ok, later := r.tryAdmit(e, after)
	if !ok && !later.IsZero() {
		p.due(later)
		p.blocked[h] = struct{}{}
	}
	return ok
}

// tryAdmit marks a pending entry in flight if it may run now; after is
// the scan cursor just before it. When it may not, later is the time it
// may, or zero when it waits for its key: the in-flight entry of the key
// records it in waiting and, when it finishes, has resumeKey run it.
func (r *Replicator) tryAdmit(e *meta.OutboxEntry, after string) (ok bool, later time.Time) {
	now := r.now()
	h := r.keyHash(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, busy := r.inflightKey[h]; busy || r.inflight[e.ID] {
		if w, ok := r.waiting[h]; !ok || after < w {
			r.waiting[h] = after
		}
		return false, time.Time{}
	}
	if c, ok := r.ready[h]; ok && c < e.ID {
		// The key is to be scanned again from before this entry (an
		// earlier one of it may still be pending): that scan runs it.
		return false, time.Time{}
	}
	if d := r.dests[e.DestBucket]; d != nil && d.downUntil.After(now) {
		return false, d.downUntil
	}
	if e.NextTry.After(now) {
		return false, e.NextTry
	}
	r.inflight[e.ID] = true
	r.inflightKey[h] = after
	return true, time.Time{}
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
