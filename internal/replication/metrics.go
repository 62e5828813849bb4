package replication

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Replicator's Prometheus collectors. Labels: bucket (the
// source bucket), rule, destination (the destination bucket).
type metrics struct {
	pendingOps    *prometheus.GaugeVec
	pendingBytes  *prometheus.GaugeVec
	failedOps     *prometheus.GaugeVec
	oldestPending *prometheus.GaugeVec
	replicatedOps *prometheus.CounterVec
	replicatedB   *prometheus.CounterVec
	failures      *prometheus.CounterVec
	retries       *prometheus.CounterVec
	lag           *prometheus.HistogramVec
	conflicts     *prometheus.CounterVec

	// gauge label sets published by the last full pass, to zero the ones
	// that disappear.
	published map[ruleKey]bool
}

type ruleKey struct{ bucket, rule, dest string }

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	lbl := []string{"bucket", "rule", "destination"}
	m := &metrics{
		pendingOps: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sos", Subsystem: "replication",
			Name: "pending_operations", Help: "Replication operations waiting in the outbox (pending, not failed)."}, lbl),
		pendingBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sos", Subsystem: "replication",
			Name: "pending_bytes", Help: "Bytes of the object versions waiting in the outbox."}, lbl),
		failedOps: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sos", Subsystem: "replication",
			Name: "failed_operations", Help: "Replication operations parked as FAILED until retried."}, lbl),
		oldestPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sos", Subsystem: "replication",
			Name: "oldest_pending_seconds", Help: "Age of the oldest pending outbox entry."}, lbl),
		replicatedOps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sos", Subsystem: "replication",
			Name: "replicated_operations_total", Help: "Operations acknowledged by the destination."}, lbl),
		replicatedB: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sos", Subsystem: "replication",
			Name: "replicated_bytes_total", Help: "Object bytes acknowledged by the destination."}, lbl),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sos", Subsystem: "replication",
			Name: "failures_total", Help: "Failed replication attempts by reason (permanent and transient)."}, append(lbl, "reason")),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sos", Subsystem: "replication",
			Name: "retried_operations_total", Help: "FAILED operations put back to pending (on demand, config or role change)."}, []string{"bucket"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "sos", Subsystem: "replication",
			Name: "lag_seconds", Help: "Time from the source commit to the destination's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 24)}, lbl),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sos", Subsystem: "replication",
			Name: "conflicts_total", Help: "Concurrent writes of one key in two zones (resolved by version order)."}, []string{"bucket"}),
		published: map[ruleKey]bool{},
	}
	for _, c := range []prometheus.Collector{m.pendingOps, m.pendingBytes, m.failedOps, m.oldestPending,
		m.replicatedOps, m.replicatedB, m.failures, m.retries, m.lag, m.conflicts} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("replication: metrics already registered on this Registerer (wrap it with the zone label for a second Replicator)")
			}
			return nil, err
		}
	}
	return m, nil
}

// ruleStats are outbox figures of one (bucket, rule, destination).
type ruleStats struct {
	pending, pendingBytes, failed int64
	oldest                        time.Time
}

// publish sets the gauges from a full pass over the outbox.
func (m *metrics) publish(stats map[ruleKey]*ruleStats, now time.Time) {
	for k := range m.published {
		if _, ok := stats[k]; !ok {
			m.setGauges(k, &ruleStats{}, now)
			delete(m.published, k)
		}
	}
	for k, s := range stats {
		m.setGauges(k, s, now)
		m.published[k] = true
	}
}

func (m *metrics) setGauges(k ruleKey, s *ruleStats, now time.Time) {
	m.pendingOps.WithLabelValues(k.bucket, k.rule, k.dest).Set(float64(s.pending))
	m.pendingBytes.WithLabelValues(k.bucket, k.rule, k.dest).Set(float64(s.pendingBytes))
	m.failedOps.WithLabelValues(k.bucket, k.rule, k.dest).Set(float64(s.failed))
	age := 0.0
	if !s.oldest.IsZero() {
		age = now.Sub(s.oldest).Seconds()
	}
	m.oldestPending.WithLabelValues(k.bucket, k.rule, k.dest).Set(age)
}
