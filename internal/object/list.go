package object

import (
	"context"
	"errors"
	"strings"

	"sos/internal/meta"
	"sos/internal/versionid"
)

const maxListKeys = 1000

// clampMax bounds a page size to 1..1000 (0 and less mean 1000).
func clampMax(n int) int {
	if n <= 0 || n > maxListKeys {
		return maxListKeys
	}
	return n
}

// prefixEnd is the smallest string greater than every string starting with
// p ("" when there is none).
func prefixEnd(p string) string {
	b := []byte(p)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return ""
	}
	b[len(b)-1]++
	return string(b)
}

// commonPrefix returns the common prefix key rolls up into, or "".
func commonPrefix(key, prefix, delimiter string) string {
	if delimiter == "" {
		return ""
	}
	if i := strings.Index(key[len(prefix):], delimiter); i >= 0 {
		return key[:len(prefix)+i+len(delimiter)]
	}
	return ""
}

// errSeek ends one scan so that the listing resumes at another key.
var errSeek = errors.New("seek")

// ListObjects lists the keys whose latest version is not a delete marker,
// rolling keys up into common prefixes at the delimiter. Whole common
// prefixes are skipped by seeking, not by iterating their keys.
func (s *Service) ListObjects(ctx context.Context, in ListInput) (ListOutput, error) {
	var out ListOutput
	b, err := bucketOf(ctx, s.meta, in.Bucket)
	if err != nil {
		return out, err
	}
	versioned := b.Versioning != meta.Unversioned
	if in.MaxKeys == 0 {
		return out, nil // max-keys=0 asks for nothing
	}
	limit := clampMax(in.MaxKeys)
	start := in.Prefix
	if in.StartAfter != "" && in.StartAfter+"\x00" > start {
		start = in.StartAfter + "\x00"
	}
	count := 0
	for {
		var seekTo string
		err := s.meta.ScanVersions(ctx, meta.ScanOptions{Bucket: in.Bucket, Prefix: in.Prefix, StartKey: start, LatestOnly: true}, func(v meta.Version) error {
			if v.IsDeleteMarker {
				return nil // a deleted key neither lists nor makes a common prefix
			}
			if cp := commonPrefix(v.Key, in.Prefix, in.Delimiter); cp != "" {
				next := prefixEnd(cp)
				if in.StartAfter == "" || !strings.HasPrefix(in.StartAfter, cp) {
					if count == limit {
						out.IsTruncated = true
						return meta.ErrStop
					}
					out.CommonPrefixes = append(out.CommonPrefixes, cp)
					out.NextMarker = cp
					count++
				}
				if next == "" {
					return meta.ErrStop
				}
				seekTo = next
				return errSeek
			}
			if count == limit {
				out.IsTruncated = true
				return meta.ErrStop
			}
			out.Objects = append(out.Objects, info(v, true, versioned))
			out.NextMarker = v.Key
			count++
			return nil
		})
		if errors.Is(err, errSeek) {
			start = seekTo
			continue
		}
		if err != nil {
			return ListOutput{}, err
		}
		return out, nil
	}
}

// ListVersions lists versions and delete markers in key order, newest
// first within a key, resuming after KeyMarker (and VersionIDMarker).
func (s *Service) ListVersions(ctx context.Context, in ListVersionsInput) (ListVersionsOutput, error) {
	var out ListVersionsOutput
	b, err := bucketOf(ctx, s.meta, in.Bucket)
	if err != nil {
		return out, err
	}
	versioned := b.Versioning != meta.Unversioned
	if in.MaxKeys == 0 {
		return out, nil // max-keys=0 asks for nothing
	}
	limit := clampMax(in.MaxKeys)
	if err := checkVersionID(in.VersionIDMarker); err != nil {
		return out, err
	}
	opts := meta.ScanOptions{Bucket: in.Bucket, Prefix: in.Prefix, StartKey: in.Prefix}
	marker := in.KeyMarker
	if in.KeyMarker != "" {
		opts.StartKey = max(in.KeyMarker+"\x00", in.Prefix)
		if in.VersionIDMarker != "" && in.KeyMarker >= in.Prefix {
			stamp, ok := versionid.Parse(in.VersionIDMarker)
			if !ok { // "null": resume after the null version
				if v, err := s.meta.Version(ctx, in.Bucket, in.KeyMarker, meta.NullVersionID); err == nil {
					stamp, ok = v.Stamp, true
				}
			}
			if ok {
				opts.StartKey, opts.AfterStamp = in.KeyMarker, stamp
			}
		}
	}
	count := 0
	lastKey := ""
	if opts.AfterStamp != 0 {
		lastKey = in.KeyMarker // the latest of that key was listed already
	}
	for {
		var seekTo string
		err := s.meta.ScanVersions(ctx, opts, func(v meta.Version) error {
			if cp := commonPrefix(v.Key, in.Prefix, in.Delimiter); cp != "" {
				next := prefixEnd(cp)
				if marker == "" || !strings.HasPrefix(marker, cp) {
					if count == limit {
						out.IsTruncated = true
						return meta.ErrStop
					}
					out.CommonPrefixes = append(out.CommonPrefixes, cp)
					out.NextKeyMarker, out.NextVersionIDMarker = cp, ""
					count++
				}
				if next == "" {
					return meta.ErrStop
				}
				seekTo = next
				return errSeek
			}
			if count == limit {
				out.IsTruncated = true
				return meta.ErrStop
			}
			oi := info(v, v.Key != lastKey, versioned)
			if oi.VersionID == "" {
				oi.VersionID = meta.NullVersionID
			}
			lastKey = v.Key
			out.Versions = append(out.Versions, oi)
			out.NextKeyMarker, out.NextVersionIDMarker = v.Key, oi.VersionID
			count++
			return nil
		})
		if errors.Is(err, errSeek) {
			opts.StartKey, opts.AfterStamp = seekTo, 0
			continue
		}
		if err != nil {
			return ListVersionsOutput{}, err
		}
		if !out.IsTruncated {
			out.NextKeyMarker, out.NextVersionIDMarker = "", ""
		}
		return out, nil
	}
}
