package pebblemeta

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"sos/internal/meta"
)

// randString draws short strings over an alphabet rich in 0x00, 0x01 and
// 0xFF so that escapes and terminators meet often.
func randString(rng *rand.Rand) string {
	alphabet := []byte{0x00, 0x01, 0x02, 0xFE, 0xFF, 'a', 'b', '/'}
	n := rng.IntN(6)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func TestComponentOrderAndPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		a, b := randString(rng), randString(rng)
		ea, eb := appendComponent(nil, a), appendComponent(nil, b)
		if got, want := bytes.Compare(ea, eb), strings.Compare(a, b); got != want {
			t.Fatalf("order of %q, %q: encoded %d, plain %d", a, b, got, want)
		}
		if got, want := bytes.HasPrefix(ea, appendEscaped(nil, b)), strings.HasPrefix(a, b); got != want {
			t.Fatalf("prefix %q of %q: encoded %v, plain %v", b, a, got, want)
		}
		// Two components never collide with two others.
		a2, b2 := randString(rng), randString(rng)
		if (a != a2 || b != b2) && bytes.Equal(appendComponent(ea, b), appendComponent(appendComponent(nil, a2), b2)) {
			t.Fatalf("(%q, %q) and (%q, %q) collide", a, b, a2, b2)
		}
		// componentEnd(a) is above every key extending a's component and
		// below the next component value.
		end := componentEnd(ea)
		if ext := append(append([]byte(nil), ea...), 0xFF, 0xFF); bytes.Compare(ext, end) >= 0 {
			t.Fatalf("componentEnd(%q) not above its extensions", a)
		}
		if a < b && bytes.Compare(end, eb) > 0 {
			t.Fatalf("componentEnd(%q) above component %q", a, b)
		}
		got, rest, err := readComponent(append(append([]byte(nil), ea...), 'x'))
		if err != nil || got != a || string(rest) != "x" {
			t.Fatalf("readComponent(%q) = %q, %q, %v", a, got, rest, err)
		}
	}
}

func TestReadComponentRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {'a'}, {0}, {'a', 0}, {0, 2}, {0, 0}} {
		if _, _, err := readComponent(b); err == nil {
			t.Errorf("readComponent(%q) accepted", b)
		}
	}
}

func TestVersionKeyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		bucket, key, vid := randString(rng), randString(rng), randString(rng)
		stamp := rng.Uint64()
		k := versionKey(bucket, key, stamp, vid)
		gk, gs, gv, end, err := parseVersionKey(k, len(appendComponent([]byte{kindVersion}, bucket)))
		if err != nil || gk != key || gs != stamp || gv != vid || !bytes.Equal(k[:end], versionKeyPrefix(bucket, key)) {
			t.Fatalf("round trip of (%q, %q, %d, %q): (%q, %d, %q, %d, %v)", bucket, key, stamp, vid, gk, gs, gv, end, err)
		}
	}
}

func FuzzDecodeRecords(f *testing.F) {
	v := benchVersion("k", 5, nil)
	f.Add(encodeVersion(nil, &v))
	prio, prefix := 3, "p"
	f.Add(encodeBucket(meta.Bucket{Name: "b", Replication: &meta.ReplicationConfig{Role: "r", Rules: []meta.ReplicationRule{
		{ID: "x", Priority: &prio, Prefix: &prefix, Filter: &meta.ReplicationFilter{Prefix: &prefix, Tag: &meta.ReplicationTag{Key: "k"},
			And: &meta.ReplicationAnd{Tags: []meta.ReplicationTag{{Key: "a", Value: "b"}}}}}}}}))
	f.Add(encodeBucketFormat1("z", time.Unix(1, 2), meta.Enabled, []byte("<ReplicationConfiguration><Rule/></ReplicationConfiguration>")))
	f.Add(encodeOutbox(&meta.OutboxEntry{ID: "x", Bucket: "b"}))
	f.Add([]byte{recordFormat, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Garbage must give an error or a record, never a panic.
		var v meta.Version
		_, _ = decodeVersion(&v, b)
		_, _ = decodeBucket("b", b)
		_, _ = decodeUpload("b", "u", b)
		var p meta.Part
		_, _ = decodePart(&p, b)
		_, _ = decodeOutbox("o", b)
	})
}

func TestDecodeTruncated(t *testing.T) {
	v := benchVersion("k", 5, []byte("x"))
	v.Tags = map[string]string{"a": "b"}
	enc := encodeVersion(nil, &v)
	for n := 0; n < len(enc); n++ {
		var out meta.Version
		if _, err := decodeVersion(&out, enc[:n]); err == nil {
			t.Fatalf("truncated record (%d of %d bytes) decoded", n, len(enc))
		}
	}
	var out meta.Version
	if _, err := decodeVersion(&out, append(enc, 0)); err == nil {
		t.Fatal("record with trailing byte decoded")
	}
}

func TestDecodeUploadWithoutReplicaPartsCount(t *testing.T) {
	u := meta.Upload{Bucket: "b", Key: "k", UploadID: "u", Initiated: time.Unix(5, 0).UTC(),
		ReplicaVersionID: "v1", ReplicaLastModified: time.Unix(3, 0).UTC(), ReplicaETag: "abc-3", ReplicaPartsCount: 3}
	enc := encodeUpload(&u)
	got, err := decodeUpload("b", "u", enc)
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	// An upload stored before ReplicaPartsCount existed ends after the
	// ETag: it reads as 0.
	old := enc[:len(enc)-1]
	got, err = decodeUpload("b", "u", old)
	u.ReplicaPartsCount = 0
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Fatalf("older record: %+v %v", got, err)
	}
	if _, err := decodeUpload("b", "u", append(enc, 0)); err == nil {
		t.Fatal("record with a trailing byte decoded")
	}
}
