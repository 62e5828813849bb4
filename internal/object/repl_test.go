package object

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"sos/internal/meta"
	"sos/internal/replconfig"
	"sos/internal/versionid"
)

func replXML(dest string, deleteMarkers bool) string {
	dm := "Disabled"
	if deleteMarkers {
		dm = "Enabled"
	}
	return fmt.Sprintf(`<ReplicationConfiguration><Role>3f1b3c9e-0000-4000-8000-000000000001</Role>`+
		`<Rule><ID>all</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>docs/</Prefix></Filter>`+
		`<DeleteMarkerReplication><Status>%s</Status></DeleteMarkerReplication><Destination><Bucket>arn:aws:s3:::%s</Bucket></Destination></Rule>`+
		`<Rule><ID>tagged</ID><Priority>2</Priority><Status>Enabled</Status><Filter><Tag><Key>repl</Key><Value>yes</Value></Tag></Filter>`+
		`<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>other</Bucket></Destination></Rule>`+
		`</ReplicationConfiguration>`, dm, dest)
}

// replCfg is replXML parsed, as s3api hands it to the service.
func replCfg(dest string, deleteMarkers bool) *replconfig.Config {
	cfg, err := replconfig.ParseXML([]byte(replXML(dest, deleteMarkers)))
	if err != nil {
		panic(err)
	}
	return cfg
}

func TestOutboxWrittenWithVersion(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "src", meta.Enabled)
	must(t, e.svc.SetReplication(ctx, "src", replCfg("dst", true)))

	// Not matching: no outbox, no status.
	oi := e.put(t, "src", "misc/a", "x")
	if oi.ReplicationStatus != "" || len(e.outbox(t)) != 0 {
		t.Fatalf("non-matching put replicated: %+v %v", oi, e.outbox(t))
	}
	// Matching by prefix: one entry, PENDING.
	oi = e.put(t, "src", "docs/a", "hello")
	ob := e.outbox(t)
	if oi.ReplicationStatus != meta.ReplPending || len(ob) != 1 {
		t.Fatalf("put: %+v, outbox %+v", oi, ob)
	}
	o := ob[0]
	if o.Bucket != "src" || o.Key != "docs/a" || o.VersionID != oi.VersionID || o.Op != meta.OpPut || o.RuleID != "all" ||
		o.DestBucket != "dst" || o.Role != "3f1b3c9e-0000-4000-8000-000000000001" || o.State != meta.OutboxPending || o.Size != 5 || o.NextTry.IsZero() {
		t.Fatalf("outbox entry %+v", o)
	}
	v, err := e.store.Version(ctx, "src", "docs/a", oi.VersionID)
	must(t, err)
	if len(v.ReplTargets) != 1 || v.ReplTargets[0].DestBucket != "dst" || v.ReplTargets[0].Status != meta.ReplPending {
		t.Fatalf("targets %+v", v.ReplTargets)
	}
	// Matching two rules (prefix and tag) to two destinations.
	oi2, err := e.svc.PutObject(ctx, PutInput{Bucket: "src", Key: "docs/b", Body: strings.NewReader("b"), Size: 1, Tags: map[string]string{"repl": "yes"}})
	must(t, err)
	ob = e.outbox(t)
	if len(ob) != 3 || ob[1].DestBucket != "dst" || ob[2].DestBucket != "other" || ob[1].ID >= ob[2].ID || ob[0].ID >= ob[1].ID {
		t.Fatalf("outbox %+v", ob)
	}
	// A delete marker replicates under the rule with DeleteMarkerReplication only.
	d, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "src", Key: "docs/b"})
	must(t, err)
	ob = e.outbox(t)
	if len(ob) != 4 || ob[3].Op != meta.OpDeleteMarker || ob[3].DestBucket != "dst" || ob[3].VersionID != d.VersionID {
		t.Fatalf("delete marker outbox %+v", ob)
	}
	// Deleting a specific version is not replicated.
	_, err = e.svc.DeleteObject(ctx, DeleteInput{Bucket: "src", Key: "docs/b", VersionID: oi2.VersionID})
	must(t, err)
	if len(e.outbox(t)) != 4 {
		t.Fatal("version delete replicated")
	}
	// A tag change: OpTags where the version went already, OpPut where it
	// now matches for the first time.
	_, err = e.svc.PutTagging(ctx, "src", "docs/a", oi.VersionID, map[string]string{"repl": "yes"})
	must(t, err)
	ob = e.outbox(t)
	if len(ob) != 6 || ob[4].Op != meta.OpTags || ob[4].DestBucket != "dst" || ob[5].Op != meta.OpPut || ob[5].DestBucket != "other" {
		t.Fatalf("tagging outbox %+v", ob)
	}
	// Multipart completion and copy replicate too.
	id, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "src", Key: "docs/mp"})
	must(t, err)
	p, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "src", Key: "docs/mp", UploadID: id, PartNumber: 1, Body: strings.NewReader("pp"), Size: 2})
	must(t, err)
	mp, err := e.svc.CompleteUpload(ctx, "src", "docs/mp", id, []CompletePart{{1, p.ETag}})
	must(t, err)
	cp, err := e.svc.CopyObject(ctx, CopyInput{SrcBucket: "src", SrcKey: "misc/a", Bucket: "src", Key: "docs/copy"})
	must(t, err)
	ob = e.outbox(t)
	if len(ob) != 8 || ob[6].VersionID != mp.VersionID || ob[7].VersionID != cp.Info.VersionID || mp.ReplicationStatus != meta.ReplPending {
		t.Fatalf("multipart/copy outbox %+v", ob)
	}

	// SetReplicationTarget aggregates as S3 does.
	vid := oi.VersionID
	set := func(dest, st string) string {
		must(t, e.svc.SetReplicationTarget(ctx, "src", "docs/a", vid, meta.ReplTarget{DestBucket: dest, Status: st}))
		h, err := e.svc.HeadObject(ctx, GetInput{Bucket: "src", Key: "docs/a", VersionID: vid})
		must(t, err)
		return h.Info.ReplicationStatus
	}
	if s := set("dst", meta.ReplCompleted); s != meta.ReplPending { // "other" still pending
		t.Fatalf("status %s", s)
	}
	if s := set("other", meta.ReplFailed); s != meta.ReplFailed {
		t.Fatalf("status %s", s)
	}
	if s := set("other", meta.ReplCompleted); s != meta.ReplCompleted {
		t.Fatalf("status %s", s)
	}
	v, err = e.store.Version(ctx, "src", "docs/a", vid)
	must(t, err)
	if len(v.ReplTargets) != 2 || v.ReplTargets[0].RuleID != "all" || string(v.Inline) != "hello" {
		t.Fatalf("targets %+v inline %q", v.ReplTargets, v.Inline)
	}
	wantErr(t, e.svc.SetReplicationTarget(ctx, "src", "docs/a", "0000000000000001", meta.ReplTarget{DestBucket: "dst", Status: meta.ReplCompleted}), ErrNoSuchVersion)
	wantErr(t, e.svc.SetReplicationTarget(ctx, "src", "docs/a", vid, meta.ReplTarget{DestBucket: "dst", Status: "bogus"}), ErrInvalidArgument)

	// A new configuration takes effect at once (the cache is invalidated).
	must(t, e.svc.SetReplication(ctx, "src", nil))
	n := len(e.outbox(t))
	e.put(t, "src", "docs/c", "c")
	if len(e.outbox(t)) != n {
		t.Fatal("replicated after the configuration was removed")
	}
}

func TestReplicaWrites(t *testing.T) {
	var conflicts []string
	var mu sync.Mutex
	e := newEnv(t, func(o *Options) {
		o.OnConflict = func(b, k string) { mu.Lock(); conflicts = append(conflicts, b+"/"+k); mu.Unlock() }
	})
	e.bucket(t, "dst", meta.Enabled)
	// The destination replicates back (bi-directional): replicas must not.
	must(t, e.svc.SetReplication(ctx, "dst", replCfg("src", true)))
	src := versionid.New("at-vie-1", func() time.Time { return time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC) })
	id1 := versionid.Format(src.Now())
	lm := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
	rep := &ReplicaInfo{VersionID: id1, LastModified: lm, ETag: "0123456789abcdef0123456789abcdef"}
	oi, err := e.svc.PutObject(ctx, PutInput{Bucket: "dst", Key: "docs/r", Body: strings.NewReader("replica"), Size: 7,
		Tags: map[string]string{"repl": "yes"}, Replica: rep})
	must(t, err)
	if oi.VersionID != id1 || oi.ETag != rep.ETag || !oi.LastModified.Equal(lm) || oi.ReplicationStatus != meta.ReplReplica || oi.PartsCount != 0 {
		t.Fatalf("replica info %+v", oi)
	}
	if ob := e.outbox(t); len(ob) != 0 {
		t.Fatalf("a replica made outbox entries: %+v", ob)
	}
	// Idempotent: the same replica again replaces it.
	_, err = e.svc.PutObject(ctx, PutInput{Bucket: "dst", Key: "docs/r", Body: strings.NewReader("replica"), Size: 7, Replica: rep})
	must(t, err)
	if vs := e.versions(t, "dst"); len(vs) != 1 {
		t.Fatalf("versions after replaying the replica: %+v", vs)
	}
	// Tagging a replica does not replicate it again.
	_, err = e.svc.PutTagging(ctx, "dst", "docs/r", id1, map[string]string{"repl": "yes", "x": "1"})
	must(t, err)
	if len(e.outbox(t)) != 0 {
		t.Fatal("tagging a replica replicated it")
	}
	// A replica delete marker.
	id2 := versionid.Format(src.Now())
	dm, err := e.svc.PutObject(ctx, PutInput{Bucket: "dst", Key: "docs/r", IsDeleteMarker: true, Replica: &ReplicaInfo{VersionID: id2, LastModified: lm}})
	must(t, err)
	if !dm.IsDeleteMarker || dm.VersionID != id2 {
		t.Fatalf("replica delete marker %+v", dm)
	}
	_, err = e.get(t, "dst", "docs/r", "")
	wantErr(t, err, ErrNoSuchKey)
	if len(e.outbox(t)) != 0 || len(conflicts) != 0 {
		t.Fatalf("outbox %v conflicts %v", e.outbox(t), conflicts)
	}
	// The clock observed the replica: local versions sort after it.
	local := e.put(t, "dst", "docs/r", "local")
	if local.VersionID <= id2 {
		t.Fatalf("local version %s not after observed %s", local.VersionID, id2)
	}
	// A replica older than the local PENDING latest: a conflict; the
	// newest version stays latest.
	id3 := versionid.Format(src.Now())
	if id3 >= local.VersionID {
		t.Fatalf("test clock: %s >= %s", id3, local.VersionID)
	}
	_, err = e.svc.PutObject(ctx, PutInput{Bucket: "dst", Key: "docs/r", Body: strings.NewReader("old"), Size: 3, Replica: &ReplicaInfo{VersionID: id3, LastModified: lm}})
	must(t, err)
	if len(conflicts) != 1 || conflicts[0] != "dst/docs/r" {
		t.Fatalf("conflicts %v", conflicts)
	}
	if got := e.mustGet(t, "dst", "docs/r", ""); got != "local" {
		t.Fatalf("latest = %q, want the newest version", got)
	}
	// Multipart replica takes the replica identity on completion.
	id4 := versionid.Format(src.Now())
	up, err := e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: "dst", Key: "docs/m", Replica: &ReplicaInfo{VersionID: id4, LastModified: lm, ETag: "feedfeedfeedfeedfeedfeedfeedfeed-1"}})
	must(t, err)
	p, err := e.svc.UploadPart(ctx, UploadPartInput{Bucket: "dst", Key: "docs/m", UploadID: up, PartNumber: 1, Body: strings.NewReader("m"), Size: 1})
	must(t, err)
	mo, err := e.svc.CompleteUpload(ctx, "dst", "docs/m", up, []CompletePart{{1, p.ETag}})
	must(t, err)
	if mo.VersionID != id4 || mo.ETag != "feedfeedfeedfeedfeedfeedfeedfeed-1" || mo.ReplicationStatus != meta.ReplReplica || !mo.LastModified.Equal(lm) {
		t.Fatalf("multipart replica %+v", mo)
	}
	n := 0
	for _, o := range e.outbox(t) {
		if o.Key == "docs/m" || o.Key == "docs/r" && o.VersionID != local.VersionID {
			n++
		}
	}
	if n != 0 {
		t.Fatalf("replicas in the outbox: %+v", e.outbox(t))
	}
	_, err = e.svc.PutObject(ctx, PutInput{Bucket: "dst", Key: "x", Body: strings.NewReader(""), Size: 0, Replica: &ReplicaInfo{VersionID: "bogus"}})
	wantErr(t, err, ErrInvalidArgument)
}

func TestReplicaRefusedWithoutVersioning(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "plain", meta.Unversioned)
	e.bucket(t, "paused", meta.Enabled)
	must(t, e.svc.SetVersioning(ctx, "paused", meta.Suspended))
	src := versionid.New("at-vie-1", time.Now)
	for _, b := range []string{"plain", "paused"} {
		rep := &ReplicaInfo{VersionID: versionid.Format(src.Now()), LastModified: time.Now()}
		_, err := e.svc.PutObject(ctx, PutInput{Bucket: b, Key: "k", Body: strings.NewReader("x"), Size: 1, Replica: rep})
		if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), "versioning Enabled") {
			t.Fatalf("replica PUT into %s: %v", b, err)
		}
		_, err = e.svc.CreateUpload(ctx, CreateUploadInput{Bucket: b, Key: "k", Replica: rep})
		if !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("replica upload into %s: %v", b, err)
		}
		lv, err := e.svc.ListVersions(ctx, ListVersionsInput{Bucket: b})
		must(t, err)
		if len(lv.Versions) != 0 {
			t.Fatalf("%s holds %d versions after refused replicas", b, len(lv.Versions))
		}
	}
}

type destChecker func(ctx context.Context, bucket string) error

func (f destChecker) CheckDestination(ctx context.Context, bucket string) error {
	return f(ctx, bucket)
}

// A destination that cannot be checked now is not an invalid
// configuration: the error stays ErrUnavailable (503, retried by clients);
// a destination checked and found wanting is ErrInvalidRequest.
func TestSetReplicationDestinationChecks(t *testing.T) {
	var answer error
	e := newEnv(t, func(o *Options) {
		o.Destinations = destChecker(func(context.Context, string) error { return answer })
	})
	e.bucket(t, "src", meta.Enabled)
	answer = fmt.Errorf("%w: zone at-vie-1 unreachable", ErrUnavailable)
	if err := e.svc.SetReplication(ctx, "src", replCfg("dst", true)); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("unreachable destination: %v", err)
	}
	answer = errors.New("destination bucket dst must have versioning Enabled")
	if err := e.svc.SetReplication(ctx, "src", replCfg("dst", true)); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("unversioned destination: %v", err)
	}
	answer = nil
	must(t, e.svc.SetReplication(ctx, "src", replCfg("dst", true)))
}

// TestReplicationStoredTyped: a configuration set through the service is
// stored as meta's record and comes back, after a reopen, as the same
// replconfig.Config: the same XML for GET, the same JSON for the CLI, the
// same absent and empty elements.
func TestReplicationStoredTyped(t *testing.T) {
	docs := map[string]string{
		"seed": `<ReplicationConfiguration><Role>6f00a21e-a535-4286-86c5-e81eeab3b4ff</Role><Rule><ID>vie1-follower</ID><Priority>1</Priority>` +
			`<Filter><Prefix></Prefix></Filter><Status>Enabled</Status><DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>` +
			`<Destination><Bucket>dst</Bucket></Destination></Rule></ReplicationConfiguration>`,
		"two rules": replXML("dst", false),
		"every element": `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Role>arn:aws:iam::1:role/r</Role>` +
			`<Rule><ID>t &amp; &lt;u&gt;</ID><Priority>0</Priority><Status>Disabled</Status><Filter><Tag><Key>k</Key><Value></Value></Tag></Filter>` +
			`<ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication><Destination><Bucket>arn:aws:s3:::dst</Bucket><StorageClass>STANDARD</StorageClass></Destination></Rule>` +
			`<Rule><ID>and</ID><Priority>-3</Priority><Status>Enabled</Status><Filter><And><Prefix>logs/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>é</Value></Tag></And></Filter>` +
			`<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><ExistingObjectReplication><Status>Disabled</Status></ExistingObjectReplication><Destination><Bucket>dst</Bucket></Destination></Rule>` +
			`<Rule><ID>empty-and</ID><Priority>4</Priority><Status>Enabled</Status><Filter><And></And></Filter><Destination><Bucket>other</Bucket></Destination></Rule>` +
			`<Rule><Priority>5</Priority><Status>Enabled</Status><Filter></Filter><Destination><Bucket>other</Bucket></Destination></Rule>` +
			`<Rule><ID>v1</ID><Prefix></Prefix><Status>Enabled</Status><Destination><Bucket>third</Bucket></Destination></Rule>` +
			`<Rule><ID>no-filter</ID><Status>Enabled</Status><Destination><Bucket>third</Bucket></Destination></Rule></ReplicationConfiguration>`,
	}
	e := newEnv(t)
	want := map[string]*replconfig.Config{}
	for name, doc := range docs {
		cfg, err := replconfig.ParseXML([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bucket := strings.ReplaceAll(name, " ", "-")
		e.bucket(t, bucket, meta.Enabled)
		must(t, e.svc.SetReplication(ctx, bucket, cfg))
		cfg.XMLName = xml.Name{} // the parser's record of the root element; not configuration
		want[bucket] = cfg
	}
	e.reopen(t)
	for bucket, cfg := range want {
		got, err := e.svc.Replication(ctx, bucket)
		must(t, err)
		if !reflect.DeepEqual(got, cfg) {
			t.Errorf("%s: stored and read back:\n got  %s\n want %s", bucket, got.JSON(), cfg.JSON())
		}
		if g, w := got.XML(), cfg.XML(); !bytes.Equal(g, w) {
			t.Errorf("%s: GET XML\n%s\nwant\n%s", bucket, g, w)
		}
	}
}
