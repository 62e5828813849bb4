package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/auth/exo2"
	"sos/internal/auth/sigv4"
	"sos/internal/replconfig"
	"sos/internal/repldiff"
	"sos/internal/server/repltest"
)

// This file runs a real deployment: `sosd control` and one `sosd zone`
// process per zone, each zone registered in the control plane with the S3
// endpoint its peers use (its own listener, or a fault proxy in front of
// it).

// The seed's documents (bucket-replication-examples.txt).
const seedPolicyTmpl = `{
"default-service-strategy": "deny",
"services": {
"sos": {
"type": "rules",
"rules": [
{
"action": "allow",
"expression": "parameters.bucket == '%s' && operation == 'get-object'"
},
{
"action": "allow",
"expression": "parameters.bucket == '%s' && operation.startsWith('put-object')"
}
]
}
}
}`

const seedConfigTmpl = `{
"Role": "%s",
"Rules": [{
"ID": "%s",
"Priority": 1,
"Filter": {
"Prefix": ""
},
"Status": "Enabled",
"DeleteMarkerReplication": {
"Status": "Enabled"
},
"Destination": {
"Bucket": "%s"
}
}]
}`

func seedPolicy(src, dst string) string { return fmt.Sprintf(seedPolicyTmpl, src, dst) }

func seedConfig(role, ruleID, dst string) string {
	return fmt.Sprintf(seedConfigTmpl, role, ruleID, dst)
}

// zoneProc is one `sosd zone` child process.
type zoneProc struct {
	name     string
	listen   string // where the zone listens (clients of the test use it)
	endpoint string // the URL registered in the control plane (what peers use)
	data     string
	token    string
	control  string
	proxy    *repltest.FaultProxy // in front of listen, when endpoint is a proxy
	wire     *wire
	extra    []string // more arguments of sosd zone
	*proc
}

func (z *zoneProc) start(t testing.TB) {
	t.Helper()
	z.proc = startProc(t, nil, append([]string{"zone", "--name", z.name, "--listen", z.listen, "--data", z.data,
		"--control", z.control, "--token", z.token, "--metrics-token", testMetricsToken}, append(z.wire.args(), z.extra...)...)...)
	waitHTTP(t, z.url()+"/", z.proc)
}

// restart starts the zone again on the same data folder and address.
func (z *zoneProc) restart(t testing.TB) { z.start(t) }

// s3 is a client of the zone with the root key (directly, not through the
// proxy).
func (z *zoneProc) s3() *s3.Client { return z.wire.s3(z.url(), z.name, rootKey, rootSecret, "") }

// url is the zone's own listener (not the proxy).
func (z *zoneProc) url() string { return z.wire.url(z.listen) }

// procCluster is a control plane and its zones, all separate processes.
type procCluster struct {
	t       testing.TB
	api     string // control plane base URL
	control *proc
	zones   map[string]*zoneProc
	wire    *wire
}

type clusterOptions struct {
	// Proxied puts a FaultProxy in front of every zone's S3 listener and
	// registers the proxy as the zone's endpoint.
	Proxied bool
	// Wire is plain HTTP (nil) or HTTPS for every process.
	Wire *wire
	// ZoneWires, with Wire, give the named zones certificate files of
	// their own (siblings of Wire: the same CA).
	ZoneWires map[string]*wire
	// ZoneArgs are more arguments of every sosd zone.
	ZoneArgs []string
	// ZoneData names the data folder of a zone (by name); the others are
	// in the test's temporary folder.
	ZoneData map[string]string
}

func startCluster(t testing.TB, opts clusterOptions, names ...string) *procCluster {
	t.Helper()
	dir := t.TempDir()
	apiAddr := freeAddr(t)
	c := &procCluster{t: t, api: opts.Wire.url(apiAddr), zones: map[string]*zoneProc{}, wire: opts.Wire}
	args := append([]string{"control", "--data", dir + "/control", "--listen", apiAddr}, opts.Wire.args()...)
	for _, n := range names {
		zw := opts.Wire
		if w := opts.ZoneWires[n]; w != nil {
			zw = w
		}
		z := &zoneProc{name: n, listen: freeAddr(t), data: dir + "/" + n, control: c.api, wire: zw, extra: opts.ZoneArgs}
		if d, ok := opts.ZoneData[n]; ok {
			z.data = d
		}
		z.endpoint = z.url()
		if opts.Proxied {
			p, err := repltest.NewFaultProxy(z.listen)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			z.proxy = p
			z.endpoint = opts.Wire.url(p.Addr())
		}
		c.zones[n] = z
		args = append(args, "--zone", n+"="+z.endpoint)
	}
	c.control = startProc(t, []string{"SOS_ROOT_API_KEY=" + rootKey, "SOS_ROOT_API_SECRET=" + rootSecret}, args...)
	waitHTTP(t, c.api+"/v2/zone", c.control)
	// The banner names every zone's token.
	tokenRE := regexp.MustCompile(`^zone (\S+) \(.*--token (\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := 0
		for _, l := range lines(c.control.output()) {
			if m := tokenRE.FindStringSubmatch(l); m != nil && c.zones[m[1]] != nil {
				c.zones[m[1]].token = m[2]
				found++
			}
		}
		if found == len(names) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sosd control printed no zone tokens:\n%s", c.control.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, n := range names {
		c.zones[n].start(t)
	}
	return c
}

// apiV2 calls the control plane's API v2 with the root key (EXO2 signed)
// and decodes the JSON answer into out (when not nil).
func (c *procCluster) apiV2(method, path string, body []byte, out any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.api+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := exo2.Sign(req, body, rootKey, rootSecret, apiExpiries.Next(time.Now(), 5*time.Minute)); err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.wire.http().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// createRole creates an editable role with a policy document (the seed's
// `exo iam role create --policy -`) and returns its ID.
func (c *procCluster) createRole(name, policy string) string {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"name": name, "description": "sos bucket replication " + name, "editable": true,
		"policy": json.RawMessage(policy),
	})
	var op struct {
		State     string `json:"state"`
		Reference struct {
			ID string `json:"id"`
		} `json:"reference"`
	}
	c.apiV2(http.MethodPost, "/v2/iam-role", body, &op)
	if op.Reference.ID == "" {
		c.t.Fatalf("role creation answered no reference: %+v", op)
	}
	return op.Reference.ID
}

// setRolePolicy replaces a role's policy (PUT /v2/iam-role/{id}:policy).
func (c *procCluster) setRolePolicy(id, policy string) {
	c.t.Helper()
	c.apiV2(http.MethodPut, "/v2/iam-role/"+id+":policy", []byte(policy), nil)
}

// createVersionedBucket creates bucket in zone z with versioning Enabled.
func createVersionedBucket(t testing.TB, z *zoneProc, bucket string) {
	t.Helper()
	ctx := context.Background()
	cl := z.s3()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create %s in %s: %v", bucket, z.name, err)
	}
	if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("versioning of %s: %v", bucket, err)
	}
}

// rawS3 sends a request signed with the root key to zone z and returns the
// status and body.
func rawS3(t testing.TB, z *zoneProc, method, pathQuery string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, z.url()+pathQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		sum := md5.Sum(body)
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		req.Header.Set("Content-Type", "application/xml")
	}
	if err := sigv4.Sign(req, sigv4.Credentials{AccessKey: rootKey, Secret: rootSecret}, sigv4.SignOptions{Region: z.name}); err != nil {
		t.Fatal(err)
	}
	resp, err := z.wire.http().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathQuery, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// setReplication sends the seed's JSON configuration to bucket as S3 XML
// (PUT ?replication). The zone may learn a new role a moment after the
// control plane created it: an unknown role is retried for a while.
func setReplication(t testing.TB, z *zoneProc, bucket, configJSON string) {
	t.Helper()
	cfg, err := replconfig.ParseJSON([]byte(configJSON))
	if err != nil {
		t.Fatal(err)
	}
	body := cfg.XML()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, resp := rawS3(t, z, http.MethodPut, "/"+bucket+"?replication", body)
		if st == http.StatusOK {
			return
		}
		if !bytes.Contains(resp, []byte("does not exist")) || time.Now().After(deadline) {
			t.Fatalf("PUT %s?replication: %d %s", bucket, st, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type replStatusReport struct {
	Rules []struct {
		ID        string `json:"id"`
		Pending   int64  `json:"pending"`
		Failed    int64  `json:"failed"`
		Completed int64  `json:"completed"`
		Failures  []struct {
			Key    string `json:"key"`
			Reason string `json:"reason"`
		} `json:"failures"`
	} `json:"rules"`
}

func replStatus(t testing.TB, z *zoneProc, bucket string) replStatusReport {
	t.Helper()
	st, body := rawS3(t, z, http.MethodGet, "/"+bucket+"?sos-replication-status", nil)
	if st != http.StatusOK {
		t.Fatalf("GET %s?sos-replication-status: %d %s", bucket, st, body)
	}
	var rep replStatusReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("status: %v: %s", err, body)
	}
	return rep
}

func (r replStatusReport) pending() (pending, failed int64) {
	for _, ru := range r.Rules {
		pending += ru.Pending
		failed += ru.Failed
	}
	return
}

// put writes an object and returns its version ID.
func put(ctx context.Context, cl *s3.Client, bucket, key string, body []byte) (string, error) {
	out, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.VersionId), nil
}

func mustPut(t testing.TB, cl *s3.Client, bucket, key string, body []byte) string {
	t.Helper()
	v, err := put(context.Background(), cl, bucket, key, body)
	if err != nil {
		t.Fatalf("PUT %s/%s: %v", bucket, key, err)
	}
	return v
}

// versions lists every version of bucket (repldiff's view).
func versions(t testing.TB, z *zoneProc, bucket string) []repldiff.Version {
	t.Helper()
	vs, err := repldiff.List(context.Background(), z.s3(), bucket)
	if err != nil {
		t.Fatalf("list versions of %s in %s: %v", bucket, z.name, err)
	}
	return vs
}

// diff compares two buckets in two zones; it returns the differences in
// words (nil when they hold the same versions).
func diff(t testing.TB, a *zoneProc, bucketA string, b *zoneProc, bucketB string) []string {
	t.Helper()
	ds, err := repldiff.Compare(context.Background(), a.s3(), b.s3(), bucketA, bucketB)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// eventuallyConverged waits until the two buckets hold the same versions
// and the source has nothing pending.
func eventuallyConverged(t testing.TB, timeout time.Duration, a *zoneProc, bucketA string, b *zoneProc, bucketB string) {
	t.Helper()
	repltest.Eventually(t, timeout, func() (bool, string) {
		d := diff(t, a, bucketA, b, bucketB)
		if len(d) > 0 {
			return false, fmt.Sprintf("%d differences, first: %s; metrics of %s:\n%s", len(d), d[0], a.name, replMetrics(a))
		}
		if p, f := replStatus(t, a, bucketA).pending(); p+f > 0 {
			return false, fmt.Sprintf("%d pending, %d failed in %s; metrics of %s:\n%s", p, f, bucketA, a.name, replMetrics(a))
		}
		return true, ""
	})
}

func headStatus(t testing.TB, z *zoneProc, bucket, key, versionID string) (status, etag, version string) {
	t.Helper()
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := z.s3().HeadObject(context.Background(), in)
	if err != nil {
		t.Fatalf("HEAD %s/%s in %s: %v", bucket, key, z.name, err)
	}
	return string(out.ReplicationStatus), aws.ToString(out.ETag), aws.ToString(out.VersionId)
}

// metric sums the samples of a Prometheus metric on a zone's /metrics
// whose labels contain every one of match.
func metric(t testing.TB, z *zoneProc, name string, match ...string) float64 {
	t.Helper()
	resp, err := getMetrics(z.wire.http(), z.url())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(l, m)
		}
		if !ok {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		sum += v
	}
	return sum
}

// keysOf returns the sorted keys of a listing and the number of versions
// per key.
func keysOf(vs []repldiff.Version) ([]string, map[string]int) {
	n := map[string]int{}
	for _, v := range vs {
		n[v.Key]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, n
}

// replMetrics returns the zone's sos_replication_* samples (for failure
// messages).
func replMetrics(z *zoneProc) string {
	resp, err := getMetrics(z.wire.http(), z.url())
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "sos_replication_") && !strings.Contains(l, "_bucket{") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
