package s3api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"sos/internal/s3err"
)

// Defaults of Limits.
const (
	// DefaultMaxRequests is how many S3 requests a handler serves at
	// once when Limits.MaxRequests is not set.
	DefaultMaxRequests = 256
	// DefaultBodyIdleTimeout is how long a request body may send nothing
	// when Limits.BodyIdleTimeout is not set.
	DefaultBodyIdleTimeout = 30 * time.Second
)

// The limits Limits.OnLimit names.
const (
	LimitMaxRequests     = "max-requests"
	LimitBodyIdleTimeout = "body-idle-timeout"
)

// Limits bound what the requests of one handler may hold at once, so that
// no client (signed or not) can make a zone hold memory and goroutines
// without bound.
type Limits struct {
	// MaxRequests is the most S3 requests served at once; zero or less
	// means DefaultMaxRequests. One more is answered at once with 503
	// SlowDown (which the SDKs retry with backoff), before its signature
	// or body is read: requests are never queued.
	MaxRequests int
	// BodyIdleTimeout is how long a request body may keep its reader
	// waiting for its next BodyProgress bytes (or its end); zero or less
	// means DefaultBodyIdleTimeout. Then the request fails with 400
	// RequestTimeout and its connection is closed. The bound is on
	// silence, not on the whole body: an upload of any size that keeps
	// sending never times out.
	BodyIdleTimeout time.Duration
	// OnLimit, when set, is told each time a request is refused by a
	// limit (LimitMaxRequests, LimitBodyIdleTimeout), for metrics.
	OnLimit func(limit string)
}

// slots counts the requests a handler serves.
type slots chan struct{}

// acquire takes a slot if one is free; release gives it back.
func (s slots) acquire() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s slots) release() { <-s }

// slowDown is the answer to a request past Limits.MaxRequests.
func (h *Handler) slowDown() error {
	h.limited(LimitMaxRequests)
	return s3err.New(s3err.SlowDown, fmt.Sprintf(
		"Please reduce your request rate: this zone is serving its limit of %d requests at once; retry in a moment.", cap(h.slots)))
}

func (h *Handler) limited(limit string) {
	if h.limits.OnLimit != nil {
		h.limits.OnLimit(limit)
	}
}

// errRequestTimeout is what a request body that stopped sending fails
// with (as *requestTimeoutError, which says for how long).
var errRequestTimeout = errors.New("request body timed out")

type requestTimeoutError struct{ idle time.Duration }

func (e *requestTimeoutError) Error() string {
	return fmt.Sprintf("Your socket connection to the server was not read from or written to within the timeout period: "+
		"the request body sent less than %d bytes in %s.", BodyProgress, e.idle)
}

func (e *requestTimeoutError) Is(target error) bool { return target == errRequestTimeout }

// BodyProgress is what a request body must bring within each
// Limits.BodyIdleTimeout spent waiting for it: this many bytes, or its end.
// A client trickling a byte every few seconds is cut as one that sends
// nothing is; any real link brings a KiB in far less than a timeout.
const BodyProgress = 1 << 10

// idleBody is a request body whose reads must make progress: the time
// spent waiting in its reads, since it last brought BodyProgress bytes,
// may not reach idle. Before each read the connection's read deadline is
// set to what is left of idle, so that time the handler spends between
// reads (writing to disk, say) is not counted against the client; a read
// that hits it fails with *requestTimeoutError. At the end of the body
// (or on any other error) the deadline is lifted, so that it touches
// neither the rest of the request nor the next one on the connection.
type idleBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	idle     time.Duration
	onExpiry func()
	// deadline is false when the connection cannot take read deadlines
	// (a writer that is not net/http's): the body is then read as it is.
	deadline bool
	done     bool
	timedOut bool
	// waited is the time spent in reads since the body last brought
	// BodyProgress bytes, got the bytes they brought.
	waited time.Duration
	got    int
}

// newIdleBody arms the deadline at once: net/http drains a body that the
// handler left unread when the answer starts, and a client that trickles
// it must not hold the handler there either.
func newIdleBody(w http.ResponseWriter, r *http.Request, idle time.Duration, onExpiry func()) *idleBody {
	b := &idleBody{body: r.Body, rc: http.NewResponseController(w), idle: idle, onExpiry: onExpiry}
	b.deadline = b.rc.SetReadDeadline(time.Now().Add(idle)) == nil
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.timedOut {
		return 0, &requestTimeoutError{b.idle}
	}
	timed := b.deadline && !b.done
	var start time.Time
	if timed {
		start = time.Now()
		if err := b.rc.SetReadDeadline(start.Add(b.idle - b.waited)); err != nil {
			b.deadline, timed = false, false
		}
	}
	n, err := b.body.Read(p)
	if timed {
		b.waited += time.Since(start)
		if b.got += n; b.got >= BodyProgress {
			b.waited, b.got = 0, 0
		}
	}
	if err == nil {
		return n, nil
	}
	if timed && errors.Is(err, os.ErrDeadlineExceeded) {
		b.done, b.timedOut = true, true
		b.onExpiry()
		return n, &requestTimeoutError{b.idle}
	}
	b.finish()
	return n, err
}

// finish lifts the read deadline once the body is done with.
func (b *idleBody) finish() {
	if b.deadline && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

func (b *idleBody) Close() error {
	b.finish()
	return b.body.Close()
}
