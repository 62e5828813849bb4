package controlclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// cacheVersion is the format of the cache file; a file of another version
// is ignored.
const cacheVersion = 1

// DefaultCacheGrace is how long Run waits for the control plane's first
// answer before it serves from the cache file (see Options.CacheGrace).
const DefaultCacheGrace = 3 * time.Second

// maxCacheSize bounds what loadCache reads (as poll bounds a snapshot).
const maxCacheSize = 64 << 20

// cacheFile is the cache file's content: the last snapshot applied, as the
// control plane sent it (policies as documents, compiled when loaded).
type cacheFile struct {
	Version  int          `json:"version"`
	Zone     string       `json:"zone"`
	SavedAt  time.Time    `json:"saved-at"`
	Snapshot wireSnapshot `json:"snapshot"`
}

// saveCache writes ws to the cache file: a temporary file in the same
// folder, mode 0600 (it holds API key secrets), synced, renamed over the
// old one, and the folder synced, so that a crash leaves the old file or
// the new one, never a torn one.
func (c *Client) saveCache(ws wireSnapshot) error {
	buf, err := json.Marshal(cacheFile{Version: cacheVersion, Zone: c.zone, SavedAt: c.now().UTC(), Snapshot: ws})
	if err != nil {
		return err
	}
	dir := filepath.Dir(c.cacheFile)
	f, err := os.CreateTemp(dir, filepath.Base(c.cacheFile)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename: nothing there
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.cacheFile); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readCache reads and checks the cache file. A missing file gives an error
// satisfying errors.Is(err, os.ErrNotExist).
func (c *Client) readCache() (cacheFile, error) {
	f, err := os.Open(c.cacheFile)
	if err != nil {
		return cacheFile{}, err
	}
	defer f.Close()
	var cf cacheFile
	dec := json.NewDecoder(io.LimitReader(f, maxCacheSize))
	if err := dec.Decode(&cf); err != nil {
		return cacheFile{}, fmt.Errorf("decoding %s: %w", c.cacheFile, err)
	}
	switch {
	case cf.Version != cacheVersion:
		return cacheFile{}, fmt.Errorf("%s: format version %d, want %d", c.cacheFile, cf.Version, cacheVersion)
	case cf.Zone != c.zone:
		return cacheFile{}, fmt.Errorf("%s: snapshot of zone %q, not of this zone %q", c.cacheFile, cf.Zone, c.zone)
	}
	return cf, nil
}

// loadCache reads the cache file for Run, before its first poll: a missing
// file gives ok false; an unreadable or corrupt one is logged and gives ok
// false too (the zone then waits for the control plane, as without a cache).
func (c *Client) loadCache() (cf cacheFile, ok bool) {
	if c.cacheFile == "" {
		return cacheFile{}, false
	}
	cf, err := c.readCache()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			c.logger.Info("no cached control plane snapshot yet", "file", c.cacheFile)
		} else {
			c.logger.Error("ignoring the cached control plane snapshot", "file", c.cacheFile, "err", err)
		}
		return cacheFile{}, false
	}
	return cf, true
}

// applyCache applies the cached snapshot cf, unless the control plane's was
// applied already (it is newer than any cache, whatever its revision).
func (c *Client) applyCache(cf cacheFile) {
	if c.applied.Load() {
		return
	}
	c.logger.Warn("control plane not reachable: serving from the cached snapshot until it answers",
		"revision", cf.Snapshot.Revision, "taken_at", cf.SavedAt, "file", c.cacheFile,
		"keys", len(cf.Snapshot.Keys), "roles", len(cf.Snapshot.Roles), "buckets", len(cf.Snapshot.Buckets))
	c.apply(cf.Snapshot, true, false)
}
