package object

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sos/internal/meta"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestVersioningGolden runs each testdata/versioning/*.txt script (one
// operation a line) and compares its transcript with the .golden file.
// Version IDs are shown as v1, v2, … in order of appearance.
//
//	versioning Enabled|Suspended
//	put KEY DATA
//	delete KEY [vN|null]
//	get KEY [vN|null]
//	list
func TestVersioningGolden(t *testing.T) {
	scripts, _ := filepath.Glob("testdata/versioning/*.txt")
	if len(scripts) == 0 {
		t.Fatal("no scripts")
	}
	for _, script := range scripts {
		t.Run(filepath.Base(script), func(t *testing.T) {
			src, err := os.ReadFile(script)
			must(t, err)
			got := runScript(t, string(src))
			golden := strings.TrimSuffix(script, ".txt") + ".golden"
			if *update {
				must(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			must(t, err)
			if got != string(want) {
				t.Errorf("transcript differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func runScript(t *testing.T, src string) string {
	e := newEnv(t)
	must(t, e.svc.CreateBucket(ctx, "bkt"))
	alias := map[string]string{"null": "null", "": "-"}
	ids := map[string]string{"null": "null"}
	name := func(id string) string {
		if a, ok := alias[id]; ok {
			return a
		}
		a := fmt.Sprintf("v%d", len(ids))
		alias[id], ids[a] = a, id
		return a
	}
	errName := func(err error) string {
		for _, c := range []struct {
			e error
			n string
		}{{ErrNoSuchKey, "NoSuchKey"}, {ErrNoSuchVersion, "NoSuchVersion"}, {ErrMethodNotAllowed, "MethodNotAllowed"}, {ErrInvalidArgument, "InvalidArgument"}} {
			if errors.Is(err, c.e) {
				s := c.n
				var dm *DeleteMarkerError
				if errors.As(err, &dm) {
					s += " (delete marker " + name(dm.Info.VersionID) + ")"
				}
				return s
			}
		}
		return "error " + err.Error()
	}
	var out strings.Builder
	for _, line := range strings.Split(src, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		fmt.Fprintf(&out, "> %s\n", line)
		arg := func(i int) string {
			if i < len(f) {
				if id, ok := ids[f[i]]; ok {
					return id
				}
				return f[i]
			}
			return ""
		}
		switch f[0] {
		case "versioning":
			if err := e.svc.SetVersioning(ctx, "bkt", meta.Versioning(f[1])); err != nil {
				fmt.Fprintf(&out, "%s\n", errName(err))
			}
		case "put":
			oi := e.put(t, "bkt", f[1], f[2])
			fmt.Fprintf(&out, "version %s\n", name(oi.VersionID))
		case "delete":
			d, err := e.svc.DeleteObject(ctx, DeleteInput{Bucket: "bkt", Key: f[1], VersionID: arg(2)})
			if err != nil {
				fmt.Fprintf(&out, "%s\n", errName(err))
			} else {
				fmt.Fprintf(&out, "version %s delete-marker=%v\n", name(d.VersionID), d.IsDeleteMarker)
			}
		case "get":
			data, err := e.get(t, "bkt", f[1], arg(2))
			if err != nil {
				fmt.Fprintf(&out, "%s\n", errName(err))
			} else {
				fmt.Fprintf(&out, "%q\n", data)
			}
		case "list":
			for _, v := range e.versions(t, "bkt") {
				latest := ""
				if v.IsLatest {
					latest = " latest"
				}
				if v.IsDeleteMarker {
					fmt.Fprintf(&out, "  %s %s delete-marker%s\n", v.Key, name(v.VersionID), latest)
					continue
				}
				data := e.mustGet(t, "bkt", v.Key, v.VersionID)
				fmt.Fprintf(&out, "  %s %s %q%s\n", v.Key, name(v.VersionID), data, latest)
			}
			lo, err := e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", MaxKeys: 1000})
			must(t, err)
			var keys []string
			for _, o := range lo.Objects {
				keys = append(keys, o.Key)
			}
			fmt.Fprintf(&out, "  objects: [%s]\n", strings.Join(keys, " "))
		default:
			t.Fatalf("unknown op %q", line)
		}
	}
	return out.String()
}
