package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sos/internal/blob"
)

// storageHealth is what a zone knows of its storage: whether its metadata
// store failed (for good: the zone stops) and whether its disk refuses
// blob writes for lack of space (a spell that ends at the first blob write
// that succeeds). It says so in the log, on /metrics and on GET /health.
type storageHealth struct {
	storeErr func() error // the metadata store's failure, nil while it works
	log      *slog.Logger
	refused  *prometheus.CounterVec

	mu           sync.Mutex
	noSpaceSince time.Time // zero when blob writes find space
	noSpaceErr   error     // the last refusal of the spell
}

func newStorageHealth(storeErr func() error, log *slog.Logger, reg prometheus.Registerer) *storageHealth {
	h := &storageHealth{storeErr: storeErr, log: log}
	h.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sos_writes_refused_total",
		Help: "Writes the zone refused because its storage could not take them, by reason (no_space: the disk holding object data is full).",
	}, []string{"reason"})
	h.refused.WithLabelValues("no_space")
	reg.MustRegister(h.refused)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sos_store_failed",
		Help: "1 when the zone's metadata store failed (a write-ahead log write or fsync failed, e.g. on a full disk): the zone refuses every request and stops.",
	}, func() float64 { return bool01(h.storeErr() != nil) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sos_disk_full",
		Help: "1 while the zone refuses writes because the disk holding object data is full (until a write finds space again).",
	}, func() float64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return bool01(!h.noSpaceSince.IsZero())
	}))
	return h
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// blobWrite records the outcome of a blob Put.
func (h *storageHealth) blobWrite(err error) {
	if err != nil && !errors.Is(err, blob.ErrNoSpace) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.refused.WithLabelValues("no_space").Inc()
		if h.noSpaceSince.IsZero() {
			h.noSpaceSince = time.Now()
			h.log.Error("the disk holding object data is full: refusing writes (503) until space is freed; reads are served", "err", err)
		}
		h.noSpaceErr = err
		return
	}
	if !h.noSpaceSince.IsZero() {
		h.log.Info("the disk holding object data has space again: writes are accepted",
			"refused-for", time.Since(h.noSpaceSince).Round(time.Second).String())
		h.noSpaceSince, h.noSpaceErr = time.Time{}, nil
	}
}

// problem is what keeps the zone from serving fully, in words, or "".
func (h *storageHealth) problem() string {
	if err := h.storeErr(); err != nil {
		return fmt.Sprintf("the metadata store failed, the zone refuses every request and stops: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.noSpaceSince.IsZero() {
		return fmt.Sprintf("writes are refused since %s, reads are served: %v; writes are accepted again once one finds space",
			h.noSpaceSince.UTC().Format(time.RFC3339), h.noSpaceErr)
	}
	return ""
}

// ServeHTTP answers GET /health: 200 "ok", or 503 with the problem in
// words.
func (h *storageHealth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if p := h.problem(); p != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, p+"\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// watchedBlobs is a blob.Store that tells health how its Puts end.
type watchedBlobs struct {
	blob.Store
	health *storageHealth
}

func (b watchedBlobs) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	id, n, err := b.Store.Put(ctx, r)
	b.health.blobWrite(err)
	return id, n, err
}
