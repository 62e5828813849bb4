package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"sos/internal/blob"
	"sos/internal/meta"
	"sos/internal/versionid"
)

func checkVersionID(id string) error {
	if id == "" || id == meta.NullVersionID {
		return nil
	}
	if _, ok := versionid.Parse(id); !ok {
		return fmt.Errorf("%w: invalid version id specified: %q", ErrInvalidArgument, id)
	}
	return nil
}

// lookup reads one version (versionID "" is the latest), telling a missing
// bucket, key and version apart.
func (s *Service) lookup(ctx context.Context, bucket, key, versionID string) (meta.Version, error) {
	if err := checkKey(key); err != nil {
		return meta.Version{}, err
	}
	if err := checkVersionID(versionID); err != nil {
		return meta.Version{}, err
	}
	v, err := s.meta.Version(ctx, bucket, key, versionID)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return v, err
	}
	if _, berr := bucketOf(ctx, s.meta, bucket); berr != nil {
		return v, berr
	}
	if versionID == "" {
		return v, fmt.Errorf("%w: %s", ErrNoSuchKey, key)
	}
	return v, fmt.Errorf("%w: %s version %s", ErrNoSuchVersion, key, versionID)
}

// versioned reports whether version IDs of bucket are shown ("null" is
// hidden in buckets that were never versioned).
func (s *Service) versioned(ctx context.Context, v meta.Version) bool {
	if v.VersionID != meta.NullVersionID {
		return true
	}
	b, err := s.meta.Bucket(ctx, v.Bucket)
	return err == nil && b.Versioning != meta.Unversioned
}

// GetObject returns an object version with its data. A delete marker gives
// a *DeleteMarkerError (wrapping ErrNoSuchKey, or ErrMethodNotAllowed when
// asked by version ID) and its Info in the output; failed conditions give
// ErrPreconditionFailed or ErrNotModified, also with Info.
func (s *Service) GetObject(ctx context.Context, in GetInput) (GetOutput, error) {
	return s.get(ctx, in, true)
}

// HeadObject is GetObject without the data.
func (s *Service) HeadObject(ctx context.Context, in GetInput) (GetOutput, error) {
	return s.get(ctx, in, false)
}

func (s *Service) get(ctx context.Context, in GetInput, withBody bool) (GetOutput, error) {
	if in.Range != nil && in.PartNumber > 0 {
		return GetOutput{}, fmt.Errorf("%w: cannot specify both Range header and partNumber query parameter", ErrInvalidRequest)
	}
	if in.PartNumber < 0 || in.PartNumber > MaxPartNumber {
		return GetOutput{}, fmt.Errorf("%w: part number must be between 1 and %d", ErrInvalidArgument, MaxPartNumber)
	}
	for attempt := 0; ; attempt++ {
		v, err := s.lookup(ctx, in.Bucket, in.Key, in.VersionID)
		if err != nil {
			return GetOutput{}, err
		}
		out := GetOutput{Info: info(v, in.VersionID == "", s.versioned(ctx, v))}
		if in.VersionID != "" {
			// Tell the caller whether the version asked for is the latest.
			if l, err := s.meta.Version(ctx, in.Bucket, in.Key, ""); err == nil {
				out.Info.IsLatest = l.VersionID == v.VersionID
			}
		}
		if v.IsDeleteMarker {
			e := &DeleteMarkerError{Info: out.Info, Err: ErrNoSuchKey}
			if in.VersionID != "" {
				e.Err = ErrMethodNotAllowed
			}
			return out, e
		}
		if err := checkConditions(in.Conditions, v); err != nil {
			return out, err
		}
		first, length := int64(0), v.Size
		switch {
		case in.Range != nil:
			if first, length, err = resolveRange(*in.Range, v.Size); err != nil {
				return out, err
			}
			out.Ranged = true
		case in.PartNumber > 0 && v.PartsCount > 0 && len(v.Parts) == v.PartsCount:
			if in.PartNumber > len(v.Parts) {
				return out, fmt.Errorf("%w: the object has %d parts", ErrInvalidRange, len(v.Parts))
			}
			for _, p := range v.Parts[:in.PartNumber-1] {
				first += p.Size
			}
			length = v.Parts[in.PartNumber-1].Size
			out.Ranged = true
		case in.PartNumber > 1:
			return out, fmt.Errorf("%w: the object has 1 part", ErrInvalidRange)
		}
		out.RangeFirst, out.RangeLength = first, length
		if !withBody {
			return out, nil
		}
		body, err := s.openRange(ctx, v, first, length)
		if errors.Is(err, blob.ErrNotFound) && attempt < 2 {
			continue // the version was replaced or deleted meanwhile
		}
		if err != nil {
			return out, err
		}
		out.Body = body
		return out, nil
	}
}

// OpenVersion returns a version (versionID "" is the latest, which may be
// a delete marker) and a stream of its whole data (empty for delete
// markers), for replication. The caller closes the stream.
func (s *Service) OpenVersion(ctx context.Context, bucket, key, versionID string) (meta.Version, io.ReadCloser, error) {
	for attempt := 0; ; attempt++ {
		v, err := s.lookup(ctx, bucket, key, versionID)
		if err != nil {
			return meta.Version{}, nil, err
		}
		body, err := s.openRange(ctx, v, 0, v.Size)
		if errors.Is(err, blob.ErrNotFound) && attempt < 2 {
			continue
		}
		if err != nil {
			return meta.Version{}, nil, err
		}
		v.Inline = nil
		return v, body, nil
	}
}

// resolveRange turns a requested range into offset and length within an
// object of size bytes, or ErrInvalidRange.
func resolveRange(r Range, size int64) (first, length int64, err error) {
	bad := fmt.Errorf("%w: the requested range is not satisfiable for %d bytes", ErrInvalidRange, size)
	if r.Suffix > 0 {
		if size == 0 {
			return 0, 0, bad
		}
		first = max(size-r.Suffix, 0)
		return first, size - first, nil
	}
	if r.First < 0 || r.First >= size || (r.Last >= 0 && r.Last < r.First) {
		return 0, 0, bad
	}
	last := r.Last
	if last < 0 || last >= size {
		last = size - 1
	}
	return r.First, last - r.First + 1, nil
}

// checkConditions applies If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since with the precedence of RFC 9110 (which S3 follows): a
// true If-Match overrides If-Unmodified-Since, a present If-None-Match
// overrides If-Modified-Since.
func checkConditions(c Conditions, v meta.Version) error {
	lm := v.LastModified.Truncate(time.Second)
	if c.IfMatch != "" {
		if !etagListMatches(c.IfMatch, v.ETag) {
			return &ConditionError{Header: "If-Match", Err: ErrPreconditionFailed}
		}
	} else if c.IfUnmodifiedSince != nil && lm.After(*c.IfUnmodifiedSince) {
		return &ConditionError{Header: "If-Unmodified-Since", Err: ErrPreconditionFailed}
	}
	if c.IfNoneMatch != "" {
		if etagListMatches(c.IfNoneMatch, v.ETag) {
			return &ConditionError{Header: "If-None-Match", Err: ErrNotModified}
		}
	} else if c.IfModifiedSince != nil && !lm.After(*c.IfModifiedSince) {
		return &ConditionError{Header: "If-Modified-Since", Err: ErrNotModified}
	}
	return nil
}

func etagListMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		e = strings.TrimPrefix(e, "W/")
		if e == "*" || strings.Trim(e, `"`) == etag {
			return true
		}
	}
	return false
}

// multiReadCloser reads its readers in turn and closes them all.
type multiReadCloser struct {
	io.Reader
	closers []io.Closer
}

func (m *multiReadCloser) Close() error {
	var first error
	for _, c := range m.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// piecesReader reads sections of several blobs as one stream, and also at
// any offset (io.ReaderAt), so that replication sends the parts of a
// multipart version without a copy in memory.
type piecesReader struct {
	multiReadCloser
	pieces []*io.SectionReader
	starts []int64 // where each piece starts in the stream
	size   int64
}

// ReadAt implements io.ReaderAt; it does not move the stream's position.
func (m *piecesReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("object: negative offset")
	}
	i := sort.Search(len(m.pieces), func(i int) bool { return m.starts[i]+m.pieces[i].Size() > off })
	n := 0
	for ; n < len(p) && i < len(m.pieces); i++ {
		k, err := m.pieces[i].ReadAt(p[n:], off+int64(n)-m.starts[i])
		n += k
		if err != nil && err != io.EOF {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// openRange opens length bytes of a version's data from offset first. Every
// blob involved is opened before it returns, so that a later delete of the
// version cannot cut the stream short.
func (s *Service) openRange(ctx context.Context, v meta.Version, first, length int64) (io.ReadCloser, error) {
	switch {
	case length == 0:
		return http.NoBody, nil
	case v.Inline != nil:
		if first+length > int64(len(v.Inline)) {
			return nil, fmt.Errorf("object: inline data of %s/%s is %d bytes, want %d", v.Bucket, v.Key, len(v.Inline), first+length)
		}
		return io.NopCloser(bytes.NewReader(v.Inline[first : first+length])), nil
	case v.BlobID != "":
		r, err := s.blobs.Open(ctx, v.BlobID)
		if err != nil {
			return nil, err
		}
		return &multiReadCloser{Reader: io.NewSectionReader(r, first, length), closers: []io.Closer{r}}, nil
	case v.Parts != nil:
		m := &piecesReader{}
		off := int64(0)
		for _, p := range v.Parts {
			pFirst, pLast := off, off+p.Size // [pFirst, pLast)
			off += p.Size
			if pLast <= first || pFirst >= first+length || p.Size == 0 {
				continue
			}
			r, err := s.blobs.Open(ctx, p.BlobID)
			if err != nil {
				m.Close()
				return nil, err
			}
			m.closers = append(m.closers, r)
			from := max(first, pFirst) - pFirst
			to := min(first+length, pLast) - pFirst
			m.starts = append(m.starts, m.size)
			m.pieces = append(m.pieces, io.NewSectionReader(r, from, to-from))
			m.size += to - from
		}
		readers := make([]io.Reader, len(m.pieces))
		for i, p := range m.pieces {
			readers[i] = p
		}
		m.Reader = io.MultiReader(readers...)
		return m, nil
	default:
		return nil, fmt.Errorf("object: %s/%s version %s has %d bytes but no data", v.Bucket, v.Key, v.VersionID, v.Size)
	}
}
