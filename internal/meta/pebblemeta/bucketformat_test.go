package pebblemeta

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"sos/internal/meta"
	"sos/internal/object"
)

// encodeBucketFormat1 is encodeBucket as it was while bucket records held
// the replication configuration as S3 XML (record format 1), kept to build
// old records. Its bytes are pinned by the testdata files below, which the
// old code wrote.
func encodeBucketFormat1(zone string, created time.Time, v meta.Versioning, replXML []byte) []byte {
	e := encoder{b: make([]byte, 0, 32+len(zone)+len(replXML))}
	e.byte(1)
	e.str(zone)
	e.time(created)
	e.str(string(v))
	e.bool(replXML != nil)
	e.bytes(replXML)
	return e.b
}

// testdata/bucket-format1-NAME.* were made by the code before the
// replication configuration was typed: .put.xml is the body of a
// PutBucketReplication, .hex the bucket record that code stored for it
// (encodeBucket of the XML s3api rendered), .get.xml what its
// GetBucketReplication answered.
func readFixture(t *testing.T, name string) (record, getXML []byte) {
	t.Helper()
	h, err := os.ReadFile("testdata/bucket-format1-" + name + ".hex")
	if err != nil {
		t.Fatal(err)
	}
	if record, err = hex.DecodeString(strings.TrimSpace(string(h))); err != nil {
		t.Fatal(err)
	}
	if getXML, err = os.ReadFile("testdata/bucket-format1-" + name + ".get.xml"); err != nil {
		t.Fatal(err)
	}
	return record, getXML
}

var fixtureCreated = time.Date(2026, 11, 30, 8, 15, 42, 123456000, time.UTC)

// TestBucketFormat1 puts bucket records written by the code that stored
// the replication configuration as XML into a database, and reads them
// with this code: the bucket and its configuration come back, GET renders
// the same XML as before, and a rewrite stores format 3 with the same
// content.
func TestBucketFormat1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	names := []string{"seed", "rich"}
	for _, name := range names {
		record, getXML := readFixture(t, name)
		// The old code stored exactly what it answered on GET (its canonical
		// XML), and the copy of its encoder rebuilds the stored record.
		if old := encodeBucketFormat1("ch-dk-2", fixtureCreated, meta.Enabled, getXML); !bytes.Equal(old, record) {
			t.Fatalf("%s: the copy of the format 1 encoder does not rebuild the old record", name)
		}
		if err := s.db.Set(bucketKey("old-"+name), record, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	// A bucket without a configuration, in format 1 too.
	if err := s.db.Set(bucketKey("old-plain"), encodeBucketFormat1("at-vie-1", fixtureCreated, meta.Suspended, nil), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
	s = openTest(t, dir)
	defer s.Close()

	all, err := s.Buckets(ctx)
	must(t, err)
	if len(all) != 3 || all[0].Name != "old-plain" || all[1].Name != "old-rich" || all[2].Name != "old-seed" {
		t.Fatalf("Buckets = %+v", all)
	}
	if p := all[0]; p.Zone != "at-vie-1" || p.Versioning != meta.Suspended || !p.CreatedAt.Equal(fixtureCreated) || p.Replication != nil {
		t.Errorf("old bucket without replication = %+v", p)
	}

	// The seed's configuration, field by field.
	seed, err := s.Bucket(ctx, "old-seed")
	must(t, err)
	one, empty := 1, ""
	want := &meta.ReplicationConfig{Role: "6f00a21e-a535-4286-86c5-e81eeab3b4ff", Rules: []meta.ReplicationRule{{
		ID: "vie1-follower", Priority: &one, Status: "Enabled", Filter: &meta.ReplicationFilter{Prefix: &empty},
		DeleteMarkerReplication: "Enabled", Destination: "my-destination",
	}}}
	if seed.Zone != "ch-dk-2" || seed.Versioning != meta.Enabled || !seed.CreatedAt.Equal(fixtureCreated) || !reflect.DeepEqual(seed.Replication, want) {
		t.Errorf("old seed bucket = %+v, replication %+v", seed, seed.Replication)
	}

	for _, name := range names {
		_, getXML := readFixture(t, name)
		b, err := s.Bucket(ctx, "old-"+name)
		must(t, err)
		if got := object.ReplicationOf(b).XML(); !bytes.Equal(got, getXML) {
			t.Errorf("%s: GET of an old record renders\n%s\nwant (as the old code)\n%s", name, got, getXML)
		}
		// Written again, the bucket is stored in format 3 and reads back
		// the same.
		must(t, s.Update(ctx, func(tx meta.Tx) error { return tx.PutBucket(ctx, b) }))
		raw, closer, err := s.db.Get(bucketKey("old-" + name))
		must(t, err)
		format := raw[0]
		must(t, closer.Close())
		if format != bucketFormatCORS {
			t.Errorf("%s: rewritten bucket record has format %d", name, format)
		}
		again, err := s.Bucket(ctx, "old-"+name)
		must(t, err)
		if !reflect.DeepEqual(again, b) {
			t.Errorf("%s: rewritten bucket = %+v, want %+v", name, again, b)
		}
		if got := object.ReplicationOf(again).XML(); !bytes.Equal(got, getXML) {
			t.Errorf("%s: GET after the rewrite renders\n%s\nwant\n%s", name, got, getXML)
		}
	}
}

// TestBucketFormatBad: a bucket record the decoder cannot read is an
// error naming the problem, never a bucket without its configuration.
func TestBucketFormatBad(t *testing.T) {
	for name, rec := range map[string][]byte{
		"format 1, marked present but empty": encodeBucketFormat1("z", fixtureCreated, meta.Enabled, []byte{}),
		"format 1, not XML":                  encodeBucketFormat1("z", fixtureCreated, meta.Enabled, []byte("{\"Role\":\"r\"}")),
		"format 1, another root element":     encodeBucketFormat1("z", fixtureCreated, meta.Enabled, []byte("<Other/>")),
		"unknown format":                     append([]byte{4}, encodeBucket(meta.Bucket{Name: "b"})[1:]...),
		"format 2, truncated":                readFormat2(t, "replicated")[:20],
		"format 3, truncated":                encodeBucket(meta.Bucket{Name: "b", Replication: &meta.ReplicationConfig{Role: "r", Rules: []meta.ReplicationRule{{ID: "x"}}}})[:20],
		"format 3, CORS cut":                 trimLast(encodeBucket(meta.Bucket{Name: "b", CORS: []meta.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}})),
	} {
		if b, err := decodeBucket("b", rec); err == nil {
			t.Errorf("%s: decoded as %+v", name, b)
		}
	}
}

func trimLast(b []byte) []byte { return b[:len(b)-3] }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testdata/bucket-format2-*.hex are bucket records that the code before
// CORS rules and bucket tags were stored wrote (format 2): one with a
// replication configuration, one without.
func readFormat2(t *testing.T, name string) []byte {
	t.Helper()
	h, err := os.ReadFile("testdata/bucket-format2-" + name + ".hex")
	must(t, err)
	rec, err := hex.DecodeString(strings.TrimSpace(string(h)))
	must(t, err)
	if rec[0] != bucketFormatTyped {
		t.Fatalf("%s: fixture has format %d", name, rec[0])
	}
	return rec
}

// TestBucketFormat2: format 2 records still read, with no CORS rules
// and no tags, and once rewritten (format 3) carry the rules and tags given.
func TestBucketFormat2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	for _, name := range []string{"replicated", "plain"} {
		must(t, s.db.Set(bucketKey("two-"+name), readFormat2(t, name), pebble.Sync))
	}
	must(t, s.Close())
	s = openTest(t, dir)
	defer s.Close()

	one, empty := 1, ""
	wantRepl := meta.Bucket{Name: "two-replicated", Zone: "ch-dk-2", CreatedAt: fixtureCreated, Versioning: meta.Enabled,
		Replication: &meta.ReplicationConfig{Role: "6f00a21e-a535-4286-86c5-e81eeab3b4ff", Rules: []meta.ReplicationRule{{
			ID: "vie1-follower", Priority: &one, Status: "Enabled", Filter: &meta.ReplicationFilter{Prefix: &empty},
			DeleteMarkerReplication: "Enabled", Destination: "my-destination"}}}}
	wantPlain := meta.Bucket{Name: "two-plain", Zone: "at-vie-1", CreatedAt: fixtureCreated, Versioning: meta.Suspended}
	for _, want := range []meta.Bucket{wantRepl, wantPlain} {
		got, err := s.Bucket(ctx, want.Name)
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("format 2 record of %s = %+v, want %+v", want.Name, got, want)
		}
		age := 600
		got.CORS = []meta.CORSRule{{ID: "r", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: &age}}
		got.Tags = map[string]string{"team": "storage"}
		must(t, s.Update(ctx, func(tx meta.Tx) error { return tx.PutBucket(ctx, got) }))
		raw, closer, err := s.db.Get(bucketKey(want.Name))
		must(t, err)
		format := raw[0]
		must(t, closer.Close())
		if format != bucketFormatCORS {
			t.Errorf("%s: rewritten record has format %d, want %d", want.Name, format, bucketFormatCORS)
		}
		again, err := s.Bucket(ctx, want.Name)
		must(t, err)
		if !reflect.DeepEqual(again, got) {
			t.Errorf("%s: rewritten bucket = %+v, want %+v", want.Name, again, got)
		}
	}
}
