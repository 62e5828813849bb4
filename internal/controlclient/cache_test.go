package controlclient_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sos/internal/control"
	"sos/internal/controlclient"
	"sos/internal/iam"
)

// logBuffer collects a client's logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start runs c until the returned stop is called (or the test ends).
func start(t *testing.T, c *controlclient.Client) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func waitReady(t *testing.T, c *controlclient.Client) {
	t.Helper()
	select {
	case <-c.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("no first snapshot")
	}
}

// switchable forwards to a fixture's control plane (with that plane's zone
// token), answers 502, or never answers.
type switchable struct {
	backend atomic.Pointer[fixture]
	hang    atomic.Bool
	wake    chan struct{} // closed by up: hung requests end
	srv     *httptest.Server
}

// up forwards to f from now on.
func (s *switchable) up(f *fixture) {
	s.backend.Store(f)
	close(s.wake)
}

func newSwitchable(t *testing.T) *switchable {
	s := &switchable{wake: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.backend.Load()
		if f == nil {
			if s.hang.Load() {
				select {
				case <-r.Context().Done():
				case <-s.wake:
					http.Error(w, "down", http.StatusBadGateway)
				}
				return
			}
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		tok, _ := f.plane.ZoneToken("ch-dk-2")
		r.Header.Set("Authorization", "Bearer "+tok)
		f.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func TestCacheFile(t *testing.T) {
	for _, hang := range []bool{false, true} {
		name := "control plane answers 502"
		if hang {
			name = "control plane never answers"
		}
		t.Run(name, func(t *testing.T) { testCacheFile(t, hang) })
	}
}

// A client restarted while the control plane is down serves from the
// snapshot its previous run saved, and takes the control plane's as soon as
// it answers, even one of a lower revision.
func testCacheFile(t *testing.T, hang bool) {
	ctx := context.Background()
	newer, older := newFixture(t), newFixture(t)
	pol, _ := iam.ParsePolicy([]byte(seedPolicy))
	role, _, _ := newer.plane.CreateRole(ctx, control.RoleSpec{Name: "seed", Policy: pol})
	key, err := newer.plane.CreateAPIKey(ctx, "k", role.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newer.plane.RegisterBucket(ctx, "my-source", "ch-dk-2"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := newer.plane.CreateRole(ctx, control.RoleSpec{Name: "r" + time.Now().String()}); err != nil {
			t.Fatal(err)
		}
	}
	cp := newSwitchable(t)
	cp.hang.Store(hang)
	file := filepath.Join(t.TempDir(), "control-snapshot.json")
	opts := controlclient.Options{URL: cp.srv.URL, Token: "per-plane", Zone: "ch-dk-2", Wait: 50 * time.Millisecond,
		CacheFile: file, CacheGrace: 100 * time.Millisecond}

	// First run: the control plane answers; its snapshot is saved.
	var log1 logBuffer
	opts.Logger = log1.logger()
	opts.URL = newer.srv.URL
	opts.Token, _ = newer.plane.ZoneToken("ch-dk-2")
	c1 := controlclient.New(opts)
	stop := start(t, c1)
	waitReady(t, c1)
	stop()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("no cache file after a sync: %v\n%s", err, log1.String())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(file + ".tmp-*"); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Second run, control plane down: served from the cache.
	opts.URL, opts.Token = cp.srv.URL, "per-plane"
	var log2 logBuffer
	opts.Logger = log2.logger()
	c2 := controlclient.New(opts)
	start(t, c2)
	waitReady(t, c2)
	if s, err := c2.Authorizer().Secret(ctx, key.Key, ""); err != nil || s != key.Secret {
		t.Errorf("key from the cache: %v", err)
	}
	get := iam.Request{Operation: "get-object", Bucket: "my-source", Key: "x"}
	if d := c2.Authorizer().Authorize(ctx, key.Key, "", get); !d.Allowed {
		t.Errorf("policy from the cache denies: %s", d.Reason)
	}
	rootKey, rootSecret := newer.plane.RootCredentials()
	if s, err := c2.Authorizer().Secret(ctx, rootKey, ""); err != nil || s != rootSecret {
		t.Errorf("root key from the cache: %v", err)
	}
	if zone, ep, ok := c2.BucketZone("my-source"); !ok || zone != "ch-dk-2" || ep != "http://127.0.0.1:9001" {
		t.Errorf("bucket from the cache: %q %q %v", zone, ep, ok)
	}
	if c2.Revision() != newer.plane.Revision() {
		t.Errorf("revision %d, want the cached %d", c2.Revision(), newer.plane.Revision())
	}
	if c2.Healthy() || !c2.LastSync().IsZero() {
		t.Errorf("served from the cache: healthy %v, last sync %v; want false and zero", c2.Healthy(), c2.LastSync())
	}
	if !strings.Contains(log2.String(), "serving from the cached snapshot") {
		t.Errorf("no log of serving from the cache:\n%s", log2.String())
	}

	// The control plane answers, restored to a lower revision: it wins.
	if older.plane.Revision() >= c2.Revision() {
		t.Fatalf("test premise: the older plane's revision %d is below the cached %d", older.plane.Revision(), c2.Revision())
	}
	cp.up(older)
	eventually(t, "the control plane's state replaces the cached one", func() bool {
		_, err := c2.Authorizer().Secret(ctx, key.Key, "")
		return errors.Is(err, iam.ErrUnknownKey) && c2.Revision() == older.plane.Revision() && c2.Healthy()
	})
	if _, _, ok := c2.BucketZone("my-source"); ok {
		t.Error("the cached bucket outlived the control plane's snapshot")
	}
	// And the cache now holds the older plane's snapshot.
	eventually(t, "the cache file follows", func() bool {
		var log3 logBuffer
		c3 := controlclient.New(controlclient.Options{URL: "http://127.0.0.1:1", Zone: "ch-dk-2", CacheFile: file, CacheGrace: time.Millisecond, Logger: log3.logger()})
		defer func() { t.Log(log3.String()) }()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go c3.Run(ctx)
		select {
		case <-c3.Ready():
		case <-time.After(10 * time.Second):
			t.Fatalf("cached snapshot not loaded; revision of the plane %d", older.plane.Revision())
		}
		return c3.Revision() == older.plane.Revision()
	})
}

// A corrupt or unreadable cache file is logged and ignored: the client
// waits for the control plane as without one, and overwrites the file.
func TestCorruptCacheFile(t *testing.T) {
	valid := `{"version":1,"zone":"ch-dk-2","saved-at":"2026-01-01T00:00:00Z","snapshot":{"revision":3,"root-key":"AK","root-secret":"S"}}`
	for name, content := range map[string]string{
		"garbage":      "\x00\x01not json",
		"empty":        "",
		"truncated":    valid[:len(valid)/2],
		"other zone":   strings.Replace(valid, "ch-dk-2", "at-vie-1", 1),
		"other format": strings.Replace(valid, `"version":1`, `"version":99`, 1),
		"a directory":  "",
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "control-snapshot.json")
			var err error
			if name == "a directory" {
				err = os.Mkdir(file, 0o700)
			} else {
				err = os.WriteFile(file, []byte(content), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			cp := newSwitchable(t)
			var logs logBuffer
			c := controlclient.New(controlclient.Options{URL: cp.srv.URL, Token: "per-plane", Zone: "ch-dk-2",
				Wait: 50 * time.Millisecond, Logger: logs.logger(), CacheFile: file, CacheGrace: 50 * time.Millisecond})
			start(t, c)
			eventually(t, "the client tries the control plane", func() bool {
				return strings.Contains(logs.String(), "cannot reach the control plane")
			})
			if !strings.Contains(logs.String(), "ignoring the cached control plane snapshot") {
				t.Errorf("the bad cache file is not logged:\n%s", logs.String())
			}
			select {
			case <-c.Ready():
				t.Fatalf("ready from a bad cache file, revision %d", c.Revision())
			default:
			}
			if name == "a directory" {
				return // cannot be replaced by a file
			}
			f := newFixture(t)
			cp.up(f)
			waitReady(t, c)
			rootKey, rootSecret := f.plane.RootCredentials()
			if s, err := c.Authorizer().Secret(context.Background(), rootKey, ""); err != nil || s != rootSecret {
				t.Errorf("root key from the control plane: %v", err)
			}
			eventually(t, "the cache file is rewritten", func() bool {
				b, err := os.ReadFile(file)
				return err == nil && bytes.Contains(b, []byte(rootSecret))
			})
		})
	}
}
