package object

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"sos/internal/meta"
)

// modelList is ListObjects computed the obvious way over all live keys.
func modelList(live []string, prefix, delim, after string) (objs, cps []string) {
	seen := map[string]bool{}
	for _, k := range live {
		if !strings.HasPrefix(k, prefix) || k <= after {
			continue
		}
		if cp := commonPrefix(k, prefix, delim); cp != "" {
			if !seen[cp] && !strings.HasPrefix(after, cp) {
				seen[cp] = true
				cps = append(cps, cp)
			}
			continue
		}
		objs = append(objs, k)
	}
	return
}

func TestListObjectsAgainstModel(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Enabled)
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"a", "b", "a/", "b/", "/", "c.d", "é", "\x00"}
	var live []string
	keys := map[string]bool{}
	for len(keys) < 120 {
		var sb strings.Builder
		for n := 1 + rng.IntN(4); n > 0; n-- {
			sb.WriteString(parts[rng.IntN(len(parts))])
		}
		keys[sb.String()] = true
	}
	for k := range keys {
		e.put(t, "bkt", k, "x")
		if rng.IntN(4) == 0 { // a delete marker hides the key
			_, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: k})
			must(t, err)
		} else {
			live = append(live, k)
		}
	}
	sort.Strings(live)
	for _, prefix := range []string{"", "a", "a/", "b/a", "zz"} {
		for _, delim := range []string{"", "/", "a", "b/"} {
			for _, page := range []int{1, 3, 1000} {
				name := fmt.Sprintf("prefix=%q delim=%q page=%d", prefix, delim, page)
				wantObjs, wantCPs := modelList(live, prefix, delim, "")
				var gotObjs, gotCPs []string
				in := ListInput{Bucket: "bkt", Prefix: prefix, Delimiter: delim, MaxKeys: page}
				for i := 0; ; i++ {
					out, err := e.svc.ListObjects(ctx, in)
					must(t, err)
					if len(out.Objects)+len(out.CommonPrefixes) > page {
						t.Fatalf("%s: page of %d", name, len(out.Objects)+len(out.CommonPrefixes))
					}
					for _, o := range out.Objects {
						gotObjs = append(gotObjs, o.Key)
					}
					gotCPs = append(gotCPs, out.CommonPrefixes...)
					if !out.IsTruncated {
						break
					}
					if i > 500 {
						t.Fatalf("%s: no end", name)
					}
					in.StartAfter = out.NextMarker
				}
				if fmt.Sprint(gotObjs) != fmt.Sprint(wantObjs) || fmt.Sprint(gotCPs) != fmt.Sprint(wantCPs) {
					t.Fatalf("%s:\n got %q %q\nwant %q %q", name, gotObjs, gotCPs, wantObjs, wantCPs)
				}
			}
		}
	}
	// start-after in the middle.
	objs, _ := modelList(live, "", "", live[10])
	out, err := e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", StartAfter: live[10], MaxKeys: 1000})
	must(t, err)
	if len(out.Objects) != len(objs) || out.Objects[0].Key != objs[0] {
		t.Fatalf("start-after: %d objects, want %d", len(out.Objects), len(objs))
	}
	out, err = e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", MaxKeys: 0})
	must(t, err)
	if len(out.Objects) != 0 || out.IsTruncated {
		t.Fatal("max-keys=0 listed keys")
	}
	_, err = e.svc.ListObjects(ctx, ListInput{Bucket: "nope"})
	wantErr(t, err, ErrNoSuchBucket)
}

func TestListVersionsPagination(t *testing.T) {
	e := newEnv(t)
	e.bucket(t, "bkt", meta.Unversioned)
	e.put(t, "bkt", "a", "null-a") // a null version from before versioning
	must(t, e.svc.SetVersioning(ctx, "bkt", meta.Enabled))
	for _, k := range []string{"a", "a", "b", "d/1", "d/2", "e"} {
		e.put(t, "bkt", k, k)
	}
	_, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: "b"})
	must(t, err)
	all, err := e.svc.ListVersions(ctx, ListVersionsInput{Bucket: "bkt", MaxKeys: 1000})
	must(t, err)
	var want []string
	for _, v := range all.Versions {
		want = append(want, fmt.Sprintf("%s@%s:%v:%v", v.Key, v.VersionID, v.IsLatest, v.IsDeleteMarker))
	}
	if len(want) != 8 || !strings.HasPrefix(want[2], "a@null:false") || !strings.HasSuffix(want[3], ":true:true") {
		t.Fatalf("all versions %v", want)
	}
	for page := 1; page <= 4; page++ {
		var got []string
		in := ListVersionsInput{Bucket: "bkt", MaxKeys: page}
		for {
			out, err := e.svc.ListVersions(ctx, in)
			must(t, err)
			for _, v := range out.Versions {
				got = append(got, fmt.Sprintf("%s@%s:%v:%v", v.Key, v.VersionID, v.IsLatest, v.IsDeleteMarker))
			}
			if !out.IsTruncated {
				break
			}
			in.KeyMarker, in.VersionIDMarker = out.NextKeyMarker, out.NextVersionIDMarker
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("page %d:\n got %v\nwant %v", page, got, want)
		}
	}
	// Delimiter and prefix.
	out, err := e.svc.ListVersions(ctx, ListVersionsInput{Bucket: "bkt", Delimiter: "/", MaxKeys: 1000})
	must(t, err)
	if len(out.CommonPrefixes) != 1 || out.CommonPrefixes[0] != "d/" || len(out.Versions) != 6 {
		t.Fatalf("with delimiter: %+v", out)
	}
	out, err = e.svc.ListVersions(ctx, ListVersionsInput{Bucket: "bkt", Prefix: "d/", MaxKeys: 1000})
	must(t, err)
	if len(out.Versions) != 2 {
		t.Fatalf("with prefix: %+v", out)
	}
	// key-marker alone skips all versions of that key.
	out, err = e.svc.ListVersions(ctx, ListVersionsInput{Bucket: "bkt", KeyMarker: "a", MaxKeys: 1000})
	must(t, err)
	if out.Versions[0].Key != "b" {
		t.Fatalf("after key-marker: %+v", out.Versions[0])
	}
	_, err = e.svc.ListVersions(ctx, ListVersionsInput{Bucket: "bkt", KeyMarker: "a", VersionIDMarker: "bad!", MaxKeys: 10})
	wantErr(t, err, ErrInvalidArgument)
}
