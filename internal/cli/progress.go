package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// counter receives the number of bytes moved by a transfer.
type counter interface{ add(n int64) }

type counterKey struct{}

func withCounter(ctx context.Context, c counter) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

// countingTransport counts the request body bytes actually sent for
// requests whose context carries a counter (the SDK reads a body several
// times to hash it; only what goes on the wire counts).
type countingTransport struct{ base http.RoundTripper }

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if c, ok := req.Context().Value(counterKey{}).(counter); ok && req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = &countingReader{r: req.Body, c: c}
	}
	return t.base.RoundTrip(req)
}

type countingReader struct {
	r io.ReadCloser
	c counter
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.c.add(int64(n))
	return n, err
}

func (r *countingReader) Close() error { return r.r.Close() }

// countingWriter counts what is written through it.
type countingWriter struct {
	w io.Writer
	c counter
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.c.add(int64(n))
	return n, err
}

// progress shows transfers on a terminal: one bar per file for a single
// file, a total bar with a line per finished file for several. When off
// (output is not a terminal) it shows nothing.
type progress struct {
	on    bool
	w     io.Writer
	mu    sync.Mutex
	total *progressbar.ProgressBar
	multi bool
	files int
	done  int
}

type progressOptions struct {
	On    bool      // show bars (a terminal)
	W     io.Writer // where bars go
	Files int       // number of files
	Bytes int64     // total size
	Verb  string    // "upload" or "download"
}

func newProgress(o progressOptions) *progress {
	p := &progress{on: o.On, w: o.W, multi: o.Files > 1, files: o.Files}
	if p.on && p.multi {
		// One more unit per file, added when the file is finished, so that
		// the bar completes after the last file's line, not before.
		p.total = newBar(p.w, o.Bytes+int64(o.Files), fmt.Sprintf("%s 0/%d files", o.Verb, o.Files))
	}
	return p
}

func newBar(w io.Writer, size int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(40),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		progressbar.OptionUseANSICodes(true),
	)
}

// fileProgress counts one file's bytes.
type fileProgress struct {
	p    *progress
	bar  *progressbar.ProgressBar
	size int64
	n    atomic.Int64
}

// file starts showing one file.
func (p *progress) file(name string, size int64) *fileProgress {
	f := &fileProgress{p: p, size: size}
	if p.on && !p.multi {
		f.bar = newBar(p.w, size, name)
	}
	return f
}

func (f *fileProgress) add(n int64) {
	if !f.p.on {
		return
	}
	// Retries may resend bytes: never count past the file's size.
	before := f.n.Load()
	after := f.n.Add(n)
	if after > f.size {
		n = max(0, f.size-before)
	}
	if n <= 0 {
		return
	}
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	if f.bar != nil {
		_ = f.bar.Add64(n)
	}
	if f.p.total != nil {
		_ = f.p.total.Add64(n)
	}
}

// finish ends a file: a line for it under a total bar, the rest of the bar
// for an empty file.
func (f *fileProgress) finish(name string, err error) {
	if !f.p.on {
		return
	}
	p := f.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		if rest := f.size - f.n.Load(); rest > 0 {
			if f.bar != nil {
				_ = f.bar.Add64(rest)
			}
			if p.total != nil {
				_ = p.total.Add64(rest)
			}
		}
		if f.bar != nil && f.size == 0 {
			_ = f.bar.Finish()
		}
	}
	if p.total != nil {
		p.done++
		_ = p.total.Clear()
		status := "done"
		if err != nil {
			status = "FAILED"
		}
		fmt.Fprintf(p.w, "%s  %s  %s\n", name, humanSize(f.size), status)
		p.total.Describe(fmt.Sprintf("%d/%d files", p.done, p.files))
		_ = p.total.Add64(1)
	}
}
