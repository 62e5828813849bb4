package deptest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The rules of DESIGN.md's "Layout and the one-way flow of data", on the
// module's non-test imports. A pattern is an import path, or a path ending in
// "/..." for that package and everything below it (as go list reads them).
var rules = []rule{
	importedOnlyBy{
		why:       "nothing imports the mains",
		pkgs:      []string{"sos/cmd/..."},
		importers: nil,
	},
	importedOnlyBy{
		why:       "the composition root is imported only by the thin mains",
		pkgs:      []string{"sos/internal/server/..."},
		importers: []string{"sos/cmd/...", "sos/internal/server/..."},
	},
	importedOnlyBy{
		why: "the edges (the S3 handler, the API v2 handler, the console, the CLI) are " +
			"imported only by the composition root and the thin mains",
		pkgs: []string{
			"sos/internal/s3api/...", "sos/internal/controlapi/...",
			"sos/internal/console/...", "sos/internal/cli/...",
		},
		importers: []string{"sos/cmd/...", "sos/internal/server/..."},
	},
	noDeps{
		why: "the client binaries (sos, sosload) link no server package: they talk HTTP only, " +
			"API v2 signed with auth/exo2 and S3 through s3client or sigv4",
		from: []string{"sos/cmd/sos", "sos/cmd/sosload"},
		deny: []string{
			"sos/internal/server/...", "sos/internal/s3api/...", "sos/internal/controlapi/...",
			"sos/internal/console/...", "sos/internal/control/...", "sos/internal/controlclient/...",
			"sos/internal/iam/...", "sos/internal/object/...", "sos/internal/meta/...",
			"sos/internal/blob/...", "sos/internal/replication/...",
			// What those packages bring: the storage engine, CEL, metrics.
			"github.com/cockroachdb/...", "cel.dev/...", "github.com/prometheus/...",
		},
	},
	leaf{why: "meta is a leaf: records and the Store contract, no engine", root: "sos/internal/meta"},
	leaf{why: "blob is a leaf: the Store contract, no engine", root: "sos/internal/blob"},
	leaf{why: "s3err is a leaf: S3 error codes and their XML", root: "sos/internal/s3err"},
	leaf{why: "auth/sigv4 is a leaf: pure signing and verifying functions", root: "sos/internal/auth/sigv4"},
	leaf{why: "auth/exo2 is a leaf: pure signing and verifying functions", root: "sos/internal/auth/exo2"},
	leaf{why: "bucketname is a leaf: the one bucket naming rule, shared by servers and the CLI", root: "sos/internal/bucketname"},
	importedOnlyBy{
		why: "the composition root chooses the implementations of meta.Store and blob.Store; " +
			"everyone else holds the interfaces (a new implementation joins this list)",
		pkgs:      []string{"sos/internal/meta/pebblemeta/...", "sos/internal/blob/fsblob/..."},
		importers: []string{"sos/internal/server/..."},
	},
	importedOnlyBy{
		why: "Pebble stays behind pebblemeta (zones) and the control plane's own store (control); " +
			"meta.Store is free of Pebble types",
		pkgs: []string{"github.com/cockroachdb/pebble/..."},
		importers: []string{
			"github.com/cockroachdb/...", "sos/internal/meta/pebblemeta/...", "sos/internal/control",
		},
	},
	importedOnlyBy{
		why: "one S3 client package: requests to a zone are signed in s3client (SDK or raw) and " +
			"verified in s3api; no other package signs S3 requests by hand",
		pkgs:      []string{"sos/internal/auth/sigv4"},
		importers: []string{"sos/internal/s3client", "sos/internal/s3api"},
	},
	noDeps{
		// Replication reads its own zone's outbox and versions through
		// meta and object (object.Service, its sentinel errors) and
		// evaluates the role's policy with iam: that is the local side.
		// Role credentials come from the composition root through its
		// options, not from the control plane's packages.
		why: "replication reaches other zones only as an S3 client (s3client) and the control " +
			"plane not at all: no S3 or API v2 server, no control plane, no storage engine",
		from: []string{"sos/internal/replication"},
		deny: []string{
			"sos/internal/server/...", "sos/internal/s3api/...", "sos/internal/s3err/...",
			"sos/internal/controlapi/...", "sos/internal/console/...", "sos/internal/cli/...",
			"sos/internal/control/...", "sos/internal/controlclient/...",
			"sos/internal/meta/pebblemeta/...", "sos/internal/blob/fsblob/...",
		},
	},
	noDeps{
		why: "the request flow runs one way (HTTP -> sigv4 -> iam -> object -> meta + blob): " +
			"object decides what is stored, not who asks or whether they may, and speaks no wire protocol",
		from: []string{"sos/internal/object"},
		deny: []string{
			"sos/internal/auth/...", "sos/internal/iam/...", "sos/internal/s3err/...",
			"sos/internal/s3client/...", "sos/internal/control/...", "sos/internal/controlclient/...",
		},
	},
	noDeps{
		why: "the request flow runs one way (HTTP -> sigv4 -> iam -> object -> meta + blob): " +
			"iam decides who may, knowing nothing of storage or the wire",
		from: []string{"sos/internal/iam"},
		deny: []string{
			"sos/internal/object/...", "sos/internal/meta/...", "sos/internal/blob/...",
			"sos/internal/replication/...", "sos/internal/s3err/...",
		},
	},
	noDeps{
		why:  "no binary links package testing: conformance suites and test clusters are for tests",
		from: []string{"sos/cmd/..."},
		deny: []string{"testing"},
	},
}

func TestImportGraph(t *testing.T) {
	g := loadGraph(t)
	for _, r := range rules {
		for _, p := range r.patterns() {
			if !g.has(p) {
				t.Errorf("rule %q names %s, which matches no package of the build: renamed? update the rule", r.reason(), p)
			}
		}
		if v := r.check(g); len(v) > 0 {
			t.Errorf("%s:\n\t%s", r.reason(), strings.Join(v, "\n\t"))
		}
	}
}

// goTool is the go command that built this test (GOROOT/bin), else the one
// on PATH. Without one the test skips (fails under SOS_REQUIRE_ALL=1).
func goTool(t *testing.T) string {
	t.Helper()
	name := "go"
	if runtime.GOOS == "windows" {
		name = "go.exe"
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", name); fileExists(p) {
		return p
	}
	p, err := exec.LookPath("go")
	if err == nil {
		return p
	}
	if os.Getenv("SOS_REQUIRE_ALL") == "1" {
		t.Fatalf("the go command is required (SOS_REQUIRE_ALL=1): %v", err)
	}
	t.Skipf("no go command in GOROOT/bin or on PATH: %v", err)
	return ""
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// loadGraph returns the non-test imports of every package the module's
// packages build from (go list -deps sos/...), the standard library and
// other modules included.
func loadGraph(t *testing.T) graph {
	t.Helper()
	cmd := exec.Command(goTool(t), "list", "-deps", "-json=ImportPath,Imports,Error", "sos/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		g[p.ImportPath] = p.Imports
	}
	if len(g["sos/cmd/sosd"]) == 0 {
		t.Fatalf("go list found no imports of sos/cmd/sosd (%d packages): not run inside the module?", len(g))
	}
	return g
}

// graph maps an import path to the paths it imports (non-test).
type graph map[string][]string

// sorted returns the packages in a fixed order, so that reports are stable.
func (g graph) sorted() []string {
	ps := make([]string, 0, len(g))
	for p := range g {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// has reports whether some package matches pattern.
func (g graph) has(pattern string) bool {
	for p := range g {
		if matches(pattern, p) {
			return true
		}
	}
	return false
}

// chainTo returns the shortest import chain from a main (sos/cmd/...) to
// pkg, or just pkg when no main reaches it.
func (g graph) chainTo(pkg string) []string {
	var roots []string
	for _, p := range g.sorted() {
		if matches("sos/cmd/...", p) {
			roots = append(roots, p)
		}
	}
	if c := g.shortest(roots, func(p string) bool { return p == pkg }, nil); c != nil {
		return c
	}
	return []string{pkg}
}

// shortest returns the shortest chain from one of roots to a package for
// which target is true, not walking through packages for which stop is
// true (they may end a chain); nil if there is none.
func (g graph) shortest(roots []string, target, stop func(string) bool) []string {
	parent := map[string]string{}
	queue := []string{}
	for _, r := range roots {
		if _, seen := parent[r]; !seen {
			parent[r] = ""
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if target(p) {
			var c []string
			for ; p != ""; p = parent[p] {
				c = append(c, p)
			}
			slices.Reverse(c)
			return c
		}
		if stop != nil && stop(p) {
			continue
		}
		for _, q := range g[p] {
			if _, seen := parent[q]; !seen {
				parent[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}

func matches(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchesAny(patterns []string, path string) bool {
	for _, pat := range patterns {
		if matches(pat, path) {
			return true
		}
	}
	return false
}

func chain(c []string) string { return strings.Join(c, " -> ") }

// A rule is one edge constraint; check returns one import chain per
// violation.
type rule interface {
	reason() string
	patterns() []string
	check(graph) []string
}

// noDeps: the packages in from do not depend, directly or through others, on
// any package in deny. A violation is reported at the first denied package
// on the way (not the ones it brings along).
type noDeps struct {
	why        string
	from, deny []string
}

func (r noDeps) reason() string     { return r.why }
func (r noDeps) patterns() []string { return slices.Concat(r.from, r.deny) }

func (r noDeps) check(g graph) []string {
	denied := func(p string) bool { return matchesAny(r.deny, p) }
	var out []string
	for _, p := range g.sorted() {
		if !matchesAny(r.from, p) {
			continue
		}
		// Every denied package reachable from p without passing
		// another denied package, each with its shortest chain.
		reached := map[string]bool{}
		for {
			c := g.shortest([]string{p}, func(q string) bool { return denied(q) && !reached[q] },
				func(q string) bool { return denied(q) })
			if c == nil {
				break
			}
			reached[c[len(c)-1]] = true
			out = append(out, chain(c))
		}
	}
	return out
}

// importedOnlyBy: the packages in pkgs are imported only by packages in
// importers.
type importedOnlyBy struct {
	why             string
	pkgs, importers []string
}

func (r importedOnlyBy) reason() string     { return r.why }
func (r importedOnlyBy) patterns() []string { return slices.Concat(r.pkgs, r.importers) }

func (r importedOnlyBy) check(g graph) []string {
	var out []string
	for _, a := range g.sorted() {
		if matchesAny(r.importers, a) {
			continue
		}
		for _, b := range g[a] {
			if matchesAny(r.pkgs, b) {
				out = append(out, chain(append(g.chainTo(a), b)))
			}
		}
	}
	return out
}

// leaf: root imports no package of the module, and the packages below it
// (its implementations and test suites) import only root and each other.
type leaf struct {
	why  string
	root string
}

func (r leaf) reason() string     { return r.why }
func (r leaf) patterns() []string { return []string{r.root} }

func (r leaf) check(g graph) []string {
	tree := r.root + "/..."
	var out []string
	for _, a := range g.sorted() {
		if !matches(tree, a) {
			continue
		}
		for _, b := range g[a] {
			if matches("sos/...", b) && (a == r.root || !matches(tree, b)) {
				out = append(out, chain(append(g.chainTo(a), b)))
			}
		}
	}
	return out
}

// TestRuleKinds runs each kind of rule on a small made-up graph: what it
// reports, with which chain, and that it is quiet when the edge is fine.
func TestRuleKinds(t *testing.T) {
	g := graph{
		"sos/cmd/tool":         {"sos/internal/cli", "fmt"},
		"sos/internal/cli":     {"sos/internal/wire", "sos/internal/srv"},
		"sos/internal/srv":     {"sos/internal/store", "fmt"},
		"sos/internal/wire":    {"fmt"},
		"sos/internal/store":   {"fmt"},
		"sos/internal/store/x": {"sos/internal/store", "sos/internal/srv"},
		"sos/internal/store/y": {"sos/internal/store", "sos/internal/store/x"},
		"fmt":                  nil,
	}
	cases := []struct {
		name string
		r    rule
		want []string
	}{
		{"noDeps reports the first denied package, not what it brings",
			noDeps{from: []string{"sos/cmd/tool"}, deny: []string{"sos/internal/srv", "sos/internal/store/..."}},
			[]string{"sos/cmd/tool -> sos/internal/cli -> sos/internal/srv"}},
		{"noDeps reports every denied package on its own chain",
			noDeps{from: []string{"sos/cmd/tool"}, deny: []string{"sos/internal/wire", "sos/internal/store"}},
			[]string{"sos/cmd/tool -> sos/internal/cli -> sos/internal/wire",
				"sos/cmd/tool -> sos/internal/cli -> sos/internal/srv -> sos/internal/store"}},
		{"noDeps quiet",
			noDeps{from: []string{"sos/internal/srv"}, deny: []string{"sos/internal/cli/..."}}, nil},
		{"importedOnlyBy names the chain from a main, or the bare edge",
			importedOnlyBy{pkgs: []string{"sos/internal/srv"}, importers: []string{"sos/cmd/..."}},
			[]string{"sos/cmd/tool -> sos/internal/cli -> sos/internal/srv",
				"sos/internal/store/x -> sos/internal/srv"}},
		{"importedOnlyBy with no importers allowed",
			importedOnlyBy{pkgs: []string{"sos/internal/cli/..."}},
			[]string{"sos/cmd/tool -> sos/internal/cli"}},
		{"importedOnlyBy quiet",
			importedOnlyBy{pkgs: []string{"sos/internal/wire"}, importers: []string{"sos/internal/cli"}}, nil},
		{"leaf: a package below it imports outside the tree",
			leaf{root: "sos/internal/store"},
			[]string{"sos/internal/store/x -> sos/internal/srv"}},
		{"leaf: the root imports a module package",
			leaf{root: "sos/internal/srv"},
			[]string{"sos/cmd/tool -> sos/internal/cli -> sos/internal/srv -> sos/internal/store"}},
		{"leaf quiet", leaf{root: "sos/internal/wire"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.r.check(g)
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
		})
	}
}
