package pebblemeta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"sos/internal/meta"
)

// Records are encoded in a small hand-written binary format: a format byte,
// then the fields in a fixed order (uvarint-length strings, varints, times as
// seconds + nanoseconds in UTC). Fields that are part of the Pebble key
// (bucket, object key, version ID, stamp, upload ID, part number, outbox ID)
// are not repeated in the value. BenchmarkCodec compares it with
// encoding/json.

const recordFormat = 1

var errCorrupt = errors.New("pebblemeta: corrupt record")

type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(s []byte)   { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }

func (e *encoder) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) strMap(m map[string]string) {
	e.uvarint(uint64(len(m)))
	for k, v := range m {
		e.str(k)
		e.str(v)
	}
}

func (e *encoder) attrs(a meta.Attrs) {
	e.str(a.ContentType)
	e.str(a.CacheControl)
	e.str(a.ContentDisposition)
	e.str(a.ContentEncoding)
	e.str(a.ContentLanguage)
	e.str(a.Expires)
	e.strMap(a.UserMeta)
}

// decoder reads a record from a string holding a copy of its encoding:
// decoded strings share that one allocation.
type decoder struct {
	s   string
	err error
}

func newDecoder(b []byte) decoder { return decoder{s: string(b)} }

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.s = ""
}

func (d *decoder) byte() byte {
	if len(d.s) < 1 {
		d.fail()
		return 0
	}
	v := d.s[0]
	d.s = d.s[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	var v uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflow
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			d.s = d.s[i+1:]
			return v
		}
	}
	d.fail()
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)) {
		d.fail()
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

func (d *decoder) bytes() []byte {
	v := d.str()
	if len(v) == 0 {
		return nil
	}
	return []byte(v)
}

func (d *decoder) bool() bool { return d.byte() != 0 }

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) count() int {
	n := d.uvarint()
	// Every element takes at least one byte: a larger count is corrupt.
	if n > uint64(len(d.s)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) strMap() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *decoder) attrs() meta.Attrs {
	return meta.Attrs{
		ContentType:        d.str(),
		CacheControl:       d.str(),
		ContentDisposition: d.str(),
		ContentEncoding:    d.str(),
		ContentLanguage:    d.str(),
		Expires:            d.str(),
		UserMeta:           d.strMap(),
	}
}

func (d *decoder) header() {
	if f := d.byte(); d.err == nil && f != recordFormat {
		d.err = fmt.Errorf("pebblemeta: unknown record format %d", f)
	}
}

func (d *decoder) done() error {
	if d.err == nil && len(d.s) != 0 {
		d.err = errCorrupt
	}
	return d.err
}

// Bucket records have their own format byte. Format 1 held the
// replication configuration as the S3 XML the s3api layer rendered
// (decodeReplicationXML reads it); format 2 holds meta.ReplicationConfig
// field by field. Buckets are written in format 2 only, so a format 1
// record becomes format 2 the next time its bucket is written. Format 3
// is format 2 followed by the bucket's CORS rules and its tags; buckets
// are written in format 3 only, and records of formats 1 and 2 (which
// have none) become format 3 the next time their bucket is written.
const (
	bucketFormatXML   = 1
	bucketFormatTyped = 2
	bucketFormatCORS  = 3
)

func encodeBucket(b meta.Bucket) []byte {
	e := encoder{b: make([]byte, 0, 64+len(b.Zone))}
	e.byte(bucketFormatCORS)
	e.str(b.Zone)
	e.time(b.CreatedAt)
	e.str(string(b.Versioning))
	e.bool(b.Replication != nil)
	if c := b.Replication; c != nil {
		e.str(c.Role)
		e.uvarint(uint64(len(c.Rules)))
		for i := range c.Rules {
			e.replRule(&c.Rules[i])
		}
	}
	e.bool(b.CORS != nil)
	if b.CORS != nil {
		e.uvarint(uint64(len(b.CORS)))
		for i := range b.CORS {
			e.corsRule(&b.CORS[i])
		}
	}
	e.strMap(b.Tags)
	return e.b
}

func (e *encoder) strs(l []string) {
	e.bool(l != nil)
	if l != nil {
		e.uvarint(uint64(len(l)))
		for _, s := range l {
			e.str(s)
		}
	}
}

func (e *encoder) corsRule(r *meta.CORSRule) {
	e.str(r.ID)
	e.strs(r.AllowedOrigins)
	e.strs(r.AllowedMethods)
	e.strs(r.AllowedHeaders)
	e.strs(r.ExposeHeaders)
	e.bool(r.MaxAgeSeconds != nil)
	if r.MaxAgeSeconds != nil {
		e.varint(int64(*r.MaxAgeSeconds))
	}
}

func (d *decoder) strs() []string {
	if !d.bool() {
		return nil
	}
	n := d.count()
	l := make([]string, 0, n)
	for range n {
		l = append(l, d.str())
	}
	return l
}

func (d *decoder) corsRule(r *meta.CORSRule) {
	r.ID = d.str()
	r.AllowedOrigins = d.strs()
	r.AllowedMethods = d.strs()
	r.AllowedHeaders = d.strs()
	r.ExposeHeaders = d.strs()
	if d.bool() {
		a := int(d.varint())
		r.MaxAgeSeconds = &a
	}
}

func (e *encoder) optStr(s *string) {
	e.bool(s != nil)
	if s != nil {
		e.str(*s)
	}
}

func (e *encoder) replRule(r *meta.ReplicationRule) {
	e.str(r.ID)
	e.bool(r.Priority != nil)
	if r.Priority != nil {
		e.varint(int64(*r.Priority))
	}
	e.str(r.Status)
	e.optStr(r.Prefix)
	e.bool(r.Filter != nil)
	if f := r.Filter; f != nil {
		e.optStr(f.Prefix)
		e.bool(f.Tag != nil)
		if f.Tag != nil {
			e.str(f.Tag.Key)
			e.str(f.Tag.Value)
		}
		e.bool(f.And != nil)
		if a := f.And; a != nil {
			e.optStr(a.Prefix)
			e.uvarint(uint64(len(a.Tags)))
			for _, t := range a.Tags {
				e.str(t.Key)
				e.str(t.Value)
			}
		}
	}
	e.str(r.DeleteMarkerReplication)
	e.str(r.ExistingObjectReplication)
	e.str(r.Destination)
	e.str(r.StorageClass)
}

func decodeBucket(name string, v []byte) (meta.Bucket, error) {
	d := newDecoder(v)
	format := d.byte()
	b := meta.Bucket{Name: name, Zone: d.str(), CreatedAt: d.time(), Versioning: meta.Versioning(d.str())}
	hasRepl := d.bool()
	switch {
	case d.err != nil:
	case format == bucketFormatTyped || format == bucketFormatCORS:
		if hasRepl {
			c := &meta.ReplicationConfig{Role: d.str()}
			if n := d.count(); n > 0 {
				c.Rules = make([]meta.ReplicationRule, n)
				for i := range c.Rules {
					d.replRule(&c.Rules[i])
				}
			}
			b.Replication = c
		}
		if format == bucketFormatCORS {
			if d.bool() {
				b.CORS = make([]meta.CORSRule, d.count())
				for i := range b.CORS {
					d.corsRule(&b.CORS[i])
				}
			}
			b.Tags = d.strMap()
		}
	case format == bucketFormatXML:
		raw := d.str()
		if hasRepl && d.err == nil {
			c, err := decodeReplicationXML(raw)
			if err != nil {
				return b, fmt.Errorf("pebblemeta: bucket %q: %w", name, err)
			}
			b.Replication = c
		}
	default:
		return b, fmt.Errorf("pebblemeta: unknown bucket record format %d", format)
	}
	return b, d.done()
}

func (d *decoder) optStr() *string {
	if !d.bool() {
		return nil
	}
	s := d.str()
	return &s
}

func (d *decoder) replRule(r *meta.ReplicationRule) {
	r.ID = d.str()
	if d.bool() {
		p := int(d.varint())
		r.Priority = &p
	}
	r.Status = d.str()
	r.Prefix = d.optStr()
	if d.bool() {
		f := &meta.ReplicationFilter{Prefix: d.optStr()}
		if d.bool() {
			f.Tag = &meta.ReplicationTag{Key: d.str(), Value: d.str()}
		}
		if d.bool() {
			a := &meta.ReplicationAnd{Prefix: d.optStr()}
			if n := d.count(); n > 0 {
				a.Tags = make([]meta.ReplicationTag, n)
				for i := range a.Tags {
					a.Tags[i] = meta.ReplicationTag{Key: d.str(), Value: d.str()}
				}
			}
			f.And = a
		}
		r.Filter = f
	}
	r.DeleteMarkerReplication = d.str()
	r.ExistingObjectReplication = d.str()
	r.Destination = d.str()
	r.StorageClass = d.str()
}

// versionFlags bits.
const (
	flagDeleteMarker = 1 << iota
	flagInline
)

// encodeVersion encodes v without its key fields and without Inline; the
// flagInline bit says whether inline data is stored in the index entry.
func encodeVersion(dst []byte, v *meta.Version) []byte {
	e := encoder{b: dst}
	e.byte(recordFormat)
	var flags uint64
	if v.IsDeleteMarker {
		flags |= flagDeleteMarker
	}
	if len(v.Inline) > 0 {
		flags |= flagInline
	}
	e.uvarint(flags)
	e.time(v.LastModified)
	e.varint(v.Size)
	e.str(v.ETag)
	e.varint(int64(v.PartsCount))
	e.attrs(v.Attrs)
	e.strMap(v.Tags)
	e.strMap(v.Checksums)
	e.str(v.BlobID)
	e.str(v.ReplicationStatus)
	e.uvarint(uint64(len(v.ReplTargets)))
	for _, t := range v.ReplTargets {
		e.str(t.RuleID)
		e.str(t.DestBucket)
		e.str(t.Status)
		e.str(t.Reason)
	}
	e.uvarint(uint64(len(v.Parts)))
	for _, p := range v.Parts {
		e.str(p.BlobID)
		e.varint(p.Size)
	}
	return e.b
}

// decodeVersion fills the non-key fields of v and reports whether inline
// data is stored for it.
func decodeVersion(v *meta.Version, b []byte) (hasInline bool, err error) {
	d := newDecoder(b)
	d.header()
	flags := d.uvarint()
	v.IsDeleteMarker = flags&flagDeleteMarker != 0
	v.LastModified = d.time()
	v.Size = d.varint()
	v.ETag = d.str()
	v.PartsCount = int(d.varint())
	v.Attrs = d.attrs()
	v.Tags = d.strMap()
	v.Checksums = d.strMap()
	v.BlobID = d.str()
	v.ReplicationStatus = d.str()
	if n := d.count(); n > 0 {
		v.ReplTargets = make([]meta.ReplTarget, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			v.ReplTargets = append(v.ReplTargets, meta.ReplTarget{RuleID: d.str(), DestBucket: d.str(), Status: d.str(), Reason: d.str()})
		}
	}
	if n := d.count(); n > 0 {
		v.Parts = make([]meta.PartRef, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			v.Parts = append(v.Parts, meta.PartRef{BlobID: d.str(), Size: d.varint()})
		}
	}
	return flags&flagInline != 0, d.done()
}

func encodeUpload(u *meta.Upload) []byte {
	e := encoder{b: make([]byte, 0, 64+len(u.Key))}
	e.byte(recordFormat)
	e.str(u.Key)
	e.time(u.Initiated)
	e.attrs(u.Attrs)
	e.strMap(u.Tags)
	e.str(u.ChecksumAlgorithm)
	e.str(u.ReplicaVersionID)
	e.time(u.ReplicaLastModified)
	e.str(u.ReplicaETag)
	e.varint(int64(u.ReplicaPartsCount))
	return e.b
}

func decodeUpload(bucket, uploadID string, b []byte) (meta.Upload, error) {
	d := newDecoder(b)
	d.header()
	u := meta.Upload{Bucket: bucket, UploadID: uploadID, Key: d.str(), Initiated: d.time(), Attrs: d.attrs(), Tags: d.strMap(), ChecksumAlgorithm: d.str(),
		ReplicaVersionID: d.str(), ReplicaLastModified: d.time(), ReplicaETag: d.str()}
	if d.err == nil && len(d.s) > 0 {
		// Absent from uploads stored before it was added.
		u.ReplicaPartsCount = int(d.varint())
	}
	return u, d.done()
}

func encodePart(p *meta.Part) []byte {
	e := encoder{b: make([]byte, 0, 64)}
	e.byte(recordFormat)
	e.varint(p.Size)
	e.str(p.ETag)
	e.time(p.LastModified)
	e.strMap(p.Checksums)
	e.str(p.BlobID)
	e.bool(len(p.Inline) > 0)
	return e.b
}

func decodePart(p *meta.Part, b []byte) (hasInline bool, err error) {
	d := newDecoder(b)
	d.header()
	p.Size = d.varint()
	p.ETag = d.str()
	p.LastModified = d.time()
	p.Checksums = d.strMap()
	p.BlobID = d.str()
	hasInline = d.bool()
	return hasInline, d.done()
}

func encodeOutbox(o *meta.OutboxEntry) []byte {
	e := encoder{b: make([]byte, 0, 128+len(o.Key))}
	e.byte(recordFormat)
	e.str(o.Bucket)
	e.str(o.Key)
	e.str(o.VersionID)
	e.str(o.Op)
	e.str(o.RuleID)
	e.str(o.DestBucket)
	e.str(o.Role)
	e.varint(o.Size)
	e.time(o.CreatedAt)
	e.str(o.State)
	e.varint(int64(o.Attempts))
	e.time(o.NextTry)
	e.str(o.LastError)
	return e.b
}

func decodeOutbox(id string, b []byte) (meta.OutboxEntry, error) {
	d := newDecoder(b)
	d.header()
	o := meta.OutboxEntry{
		ID: id, Bucket: d.str(), Key: d.str(), VersionID: d.str(), Op: d.str(), RuleID: d.str(),
		DestBucket: d.str(), Role: d.str(), Size: d.varint(), CreatedAt: d.time(), State: d.str(),
		Attempts: int(d.varint()), NextTry: d.time(), LastError: d.str(),
	}
	return o, d.done()
}
