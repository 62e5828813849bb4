package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
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

// progress shows transfers on a terminal as exo does, one line per file:
//
//	config.json [=================>------] 372.00 b / 418.00 b | 0s
//
// and, for several files, a total line under them. Lines of files in
// flight are redrawn in place (ANSI cursor moves); a finished file's line
// stays. When off (output is not a terminal) it shows nothing.
type progress struct {
	on        bool
	w         io.Writer
	width     int // terminal columns
	nameWidth int
	sizeWidth int // of the widest size, to align the bars
	start     time.Time

	mu       sync.Mutex
	live     []*fileProgress // in flight, drawn under the finished lines
	done     []*fileProgress // finished since the last draw
	drawn    int             // lines of the live area on screen
	total    *fileProgress   // nil for one file
	files    int
	finished int
	ticker   *time.Ticker
	stopped  chan struct{}
	closed   bool
}

type progressOptions struct {
	On    bool      // show bars (a terminal)
	W     io.Writer // where bars go
	Files int       // number of files
	Bytes int64     // total size
	Names []string  // the names shown, to align the bars (optional)
	Sizes []int64   // the files' sizes, to align the bars (optional)
}

const (
	maxNameWidth   = 40
	progressPeriod = 150 * time.Millisecond
)

func newProgress(o progressOptions) *progress {
	p := &progress{on: o.On, w: o.W, files: o.Files, width: termWidth(o.W), start: time.Now()}
	if !p.on {
		return p
	}
	for _, n := range o.Names {
		p.nameWidth = max(p.nameWidth, min(maxNameWidth, utf8.RuneCountInString(n)))
	}
	for _, n := range o.Sizes {
		p.sizeWidth = max(p.sizeWidth, len(byteCount(n)))
	}
	if o.Files > 1 {
		p.sizeWidth = max(p.sizeWidth, len(byteCount(o.Bytes)))
		p.total = &fileProgress{p: p, size: o.Bytes, start: p.start}
		p.nameWidth = max(p.nameWidth, utf8.RuneCountInString(p.totalName()))
	}
	p.ticker = time.NewTicker(progressPeriod)
	p.stopped = make(chan struct{})
	go func() {
		for {
			select {
			case <-p.ticker.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			case <-p.stopped:
				return
			}
		}
	}()
	return p
}

// termWidth is the width of the terminal w is, 100 when unknown.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := termSize(f); err == nil && cols >= 40 {
			return cols
		}
	}
	return 100
}

func (p *progress) totalName() string {
	return fmt.Sprintf("Total %d/%d", p.finished, p.files)
}

// fileProgress counts one file's bytes.
type fileProgress struct {
	p      *progress
	name   string
	size   int64
	n      atomic.Int64
	start  time.Time
	end    time.Time
	failed bool
}

// file starts showing one file.
func (p *progress) file(name string, size int64) *fileProgress {
	f := &fileProgress{p: p, name: name, size: size, start: time.Now()}
	if !p.on {
		return f
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = append(p.live, f)
	p.draw()
	return f
}

func (f *fileProgress) add(n int64) {
	if !f.p.on || n <= 0 {
		return
	}
	// Retries may resend bytes: never count past the file's size.
	for {
		cur := f.n.Load()
		next := min(f.size, cur+n)
		if next == cur || f.n.CompareAndSwap(cur, next) {
			if f.p.total != nil {
				f.p.total.n.Add(next - cur)
			}
			return
		}
	}
}

// finish ends a file: its line is drawn one last time and stays.
func (f *fileProgress) finish(_ string, err error) {
	p := f.p
	if !p.on {
		return
	}
	if err == nil {
		f.add(f.size - f.n.Load())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f.end, f.failed = time.Now(), err != nil
	for i, l := range p.live {
		if l == f {
			p.live = append(p.live[:i], p.live[i+1:]...)
			break
		}
	}
	p.done = append(p.done, f)
	p.finished++
	if p.finished == p.files && p.total != nil {
		p.total.end = f.end
	}
	p.draw()
	if p.finished == p.files {
		p.stop()
	}
}

// close stops redrawing (when some files never finished).
func (p *progress) close() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	p.stop()
}

func (p *progress) stop() {
	if p.closed {
		return
	}
	p.closed = true
	p.ticker.Stop()
	close(p.stopped)
}

// draw rewrites the live area: finished lines first (they stay), then the
// files in flight and the total. Called with p.mu held.
func (p *progress) draw() {
	if p.closed {
		return
	}
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	line := func(f *fileProgress, name string) {
		b.WriteString("\r\x1b[2K" + p.line(f, name) + "\n")
	}
	for _, f := range p.done {
		line(f, f.name)
	}
	p.done = p.done[:0]
	for _, f := range p.live {
		line(f, f.name)
	}
	p.drawn = len(p.live)
	if p.total != nil {
		line(p.total, p.totalName())
		p.drawn++
	}
	_, _ = io.WriteString(p.w, b.String())
}

func (p *progress) line(f *fileProgress, name string) string {
	end := f.end
	if end.IsZero() {
		end = time.Now()
	}
	l := barLine(barState{Name: name, NameWidth: p.nameWidth, Done: f.n.Load(), Size: f.size, Elapsed: end.Sub(f.start), Width: p.width, SizeWidth: p.sizeWidth})
	if f.failed {
		l += " FAILED"
	}
	return l
}

// barState is what one progress line shows.
type barState struct {
	Name       string
	NameWidth  int
	Done, Size int64
	Elapsed    time.Duration
	Width      int // columns of the whole line
	SizeWidth  int // sizes are right-aligned to this width (optional)
}

// barLine formats one progress line as exo does:
// "config.json [=====>----] 372.00 b / 418.00 b | 0s".
func barLine(s barState) string {
	name := s.Name
	if r := []rune(name); len(r) > maxNameWidth {
		name = "…" + string(r[len(r)-maxNameWidth+1:])
	}
	name = pad(name, s.NameWidth)
	total := byteCount(s.Size)
	count := byteCount(s.Done)
	w := max(s.SizeWidth, len(total))
	count = strings.Repeat(" ", max(0, w-len(count))) + count + " / " + strings.Repeat(" ", max(0, w-len(total))) + total
	elapsed := s.Elapsed.Round(time.Second).String()
	// name + " [" + bar + "] " + count + " | " + elapsed (room for 5).
	barW := s.Width - runeLen(name) - 2 - 2 - len(count) - 3 - max(5, len(elapsed))
	barW = max(10, barW)
	filled := barW
	if s.Size > 0 {
		filled = int(int64(barW) * min(s.Done, s.Size) / s.Size)
	}
	bar := strings.Repeat("=", filled)
	if filled < barW {
		if filled > 0 {
			bar = bar[:filled-1] + ">"
		}
		bar += strings.Repeat("-", barW-filled)
	}
	return name + " [" + bar + "] " + count + " | " + elapsed
}

// byteCount formats a size as exo's bars: "372.00 b", "1.50 MiB".
func byteCount(n int64) string {
	units := []string{"b", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n)
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.2f %s", v, units[u])
}
