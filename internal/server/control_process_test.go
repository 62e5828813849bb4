package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/auth/sigv4"
)

// ctlZone is one `sosd zone` child process of a controlZones deployment.
type ctlZone struct {
	name, addr, token string
	metricsAddr       string   // --metrics-listen
	args              []string // sosd's arguments
	*proc
}

// testMetricsToken is the --metrics-token (SOS_METRICS_TOKEN) of the
// tests' zone processes.
const testMetricsToken = "metrics-token-of-the-tests"

// zoneEnv is the environment of a zone process with token.
func zoneEnv(token string) []string {
	return []string{"SOS_ZONE_TOKEN=" + token, "SOS_METRICS_TOKEN=" + testMetricsToken}
}

// getMetrics reads a zone's /metrics on its S3 listener with the tests'
// metrics token.
func getMetrics(hc *http.Client, zoneURL string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, zoneURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	return hc.Do(req)
}

// restart stops the zone (SIGTERM) and starts it again on the same data
// folder and address.
func (z *ctlZone) restart(t *testing.T) {
	t.Helper()
	z.kill(syscall.SIGTERM)
	z.proc = startProc(t, zoneEnv(z.token), z.args...)
	waitHTTP(t, z.url()+"/", z.proc)
}

func (z *ctlZone) url() string { return "http://" + z.addr }

// controlZones is a real deployment on loopback: `sosd control` and one
// `sosd zone` process per zone.
type controlZones struct {
	api         string // control plane base URL
	control     *proc
	controlArgs []string
	zones       map[string]*ctlZone
}

// zoneTokenLine is the line of the `sosd control` banner that tells an
// operator how to start a zone, token included.
var zoneTokenLine = regexp.MustCompile(`^zone (\S+) \(\S+\): sosd zone --name \S+ --control \S+ --token (\S+)`)

// startControlZones starts `sosd control` for the zones, reads each zone's
// token from the banner it prints (the operator's way: the token is made by
// the control plane the first time it opens its data folder), and starts
// every zone with its token in SOS_ZONE_TOKEN.
func startControlZones(t *testing.T, names ...string) *controlZones {
	t.Helper()
	dir := t.TempDir()
	apiAddr := freeAddr(t)
	d := &controlZones{api: "http://" + apiAddr, zones: map[string]*ctlZone{}}
	args := []string{"control", "--data", dir + "/control", "--listen", apiAddr}
	for _, n := range names {
		z := &ctlZone{name: n, addr: freeAddr(t), metricsAddr: freeAddr(t)}
		d.zones[n] = z
		args = append(args, "--zone", n+"="+z.addr)
	}
	d.controlArgs = args
	d.startControl(t)
	pollUntil(t, 10*time.Second, func() string {
		found := 0
		for _, l := range lines(d.control.output()) {
			if m := zoneTokenLine.FindStringSubmatch(l); m != nil && d.zones[m[1]] != nil {
				d.zones[m[1]].token = m[2]
				found++
			}
		}
		if found < len(names) {
			return "sosd control did not print a token for every zone:\n" + d.control.output()
		}
		return ""
	})
	for _, n := range names {
		z := d.zones[n]
		z.args = []string{"zone", "--name", n, "--listen", z.addr, "--data", dir + "/" + n, "--control", d.api,
			"--metrics-listen", z.metricsAddr}
		z.proc = startProc(t, zoneEnv(z.token), z.args...)
		waitHTTP(t, z.url()+"/", z.proc)
	}
	return d
}

// startControl starts (or restarts, on the same data folder and address)
// the control plane process.
func (d *controlZones) startControl(t *testing.T) {
	t.Helper()
	d.control = startProc(t, []string{"SOS_ROOT_API_KEY=" + rootKey, "SOS_ROOT_API_SECRET=" + rootSecret}, d.controlArgs...)
	waitHTTP(t, d.api+"/v2/zone", d.control)
}

func (d *controlZones) root() apiV2 { return apiV2{base: d.api, key: rootKey, secret: rootSecret} }

func (d *controlZones) s3(zone, key, secret string) *s3.Client {
	return newS3(d.zones[zone].url(), zone, key, secret)
}

// signedS3 sends an S3 request signed with SigV4 for region and returns the
// status, headers and body (for answers the AWS SDK hides, such as 301).
func signedS3(t *testing.T, method, url, region, key, secret string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigv4.Sign(req, sigv4.Credentials{AccessKey: key, Secret: secret}, sigv4.SignOptions{Region: region}); err != nil {
		t.Fatal(err)
	}
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// s3ErrorXML is the <Error> document of an S3 error answer.
type s3ErrorXML struct {
	Code, Message, Endpoint, BucketName, Region string
}

// promValue returns the value of the first sample of name on a zone's
// /metrics page, and whether there is one.
func promValue(t *testing.T, zoneURL, name string) (float64, bool) {
	t.Helper()
	resp, err := getMetrics(http.DefaultClient, zoneURL)
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", zoneURL, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		return v, true
	}
	return 0, false
}

// TestControlPlaneAndZoneProcesses runs `sosd control` and two `sosd zone`
// processes on loopback: the global bucket namespace, the wrong-zone
// redirect, the usage listing, temporary role credentials verified by
// another zone than the one that fetched them, and a zone that keeps
// serving when the control plane is gone.
func TestControlPlaneAndZoneProcesses(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	d := startControlZones(t, "ch-dk-2", "at-vie-1")
	ch, at := d.zones["ch-dk-2"], d.zones["at-vie-1"]
	rootCH := d.s3("ch-dk-2", rootKey, rootSecret)
	rootAT := d.s3("at-vie-1", rootKey, rootSecret)
	mkBucket := func(c *s3.Client, name string) error {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		return err
	}

	t.Run("global bucket namespace", func(t *testing.T) {
		wantOK(t, "create alpha in ch-dk-2", mkBucket(rootCH, "alpha"))
		wantOK(t, "create bravo in at-vie-1", mkBucket(rootAT, "bravo"))
		wantS3Code(t, "create alpha in at-vie-1", mkBucket(rootAT, "alpha"), "BucketAlreadyExists")
		wantS3Code(t, "create bravo in ch-dk-2", mkBucket(rootCH, "bravo"), "BucketAlreadyExists")
		wantS3Code(t, "create alpha again in ch-dk-2", mkBucket(rootCH, "alpha"), "BucketAlreadyOwnedByYou")
		wantS3Code(t, "create bravo again in at-vie-1", mkBucket(rootAT, "bravo"), "BucketAlreadyOwnedByYou")
		// A deleted bucket frees its name for every zone.
		wantOK(t, "create transient in ch-dk-2", mkBucket(rootCH, "transient"))
		_, err := rootCH.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("transient")})
		wantOK(t, "delete transient in ch-dk-2", err)
		wantOK(t, "create transient in at-vie-1 after its deletion in ch-dk-2", mkBucket(rootAT, "transient"))
	})
	if t.Failed() {
		t.FailNow()
	}
	wantOK(t, "put alpha/a", putString(ctx, rootCH, "alpha", "a", strings.Repeat("a", 1000)))
	wantOK(t, "put alpha/b", putString(ctx, rootCH, "alpha", "b", strings.Repeat("b", 234)))
	wantOK(t, "put bravo/c", putString(ctx, rootAT, "bravo", "c", strings.Repeat("c", 5000)))

	t.Run("who may read metrics", func(t *testing.T) {
		// They name every replicated bucket and destination: outside
		// sosd dev, only the bearer of the metrics token, or anyone on
		// the metrics listener of its own when it has no token.
		get := func(u, auth string) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		const sample = "sos_control_plane_reachable"
		for _, c := range []struct {
			what, url, auth string
			status          int
			has             string
		}{
			{"S3 listener, anonymous", ch.url() + "/metrics", "", 403, "<Code>AccessDenied</Code>"},
			{"S3 listener, wrong token", ch.url() + "/metrics", "Bearer nope", 401, "does not match"},
			{"S3 listener, token", ch.url() + "/metrics", "Bearer " + testMetricsToken, 200, sample},
			{"metrics listener, anonymous", "http://" + ch.metricsAddr + "/metrics", "", 401, "--metrics-token"},
			{"metrics listener, token", "http://" + ch.metricsAddr + "/metrics", "Bearer " + testMetricsToken, 200, sample},
			{"metrics listener, not metrics", "http://" + ch.metricsAddr + "/alpha", "Bearer " + testMetricsToken, 404, "only GET /metrics"},
		} {
			if status, body := get(c.url, c.auth); status != c.status || !strings.Contains(body, c.has) || (c.status != 200 && strings.Contains(body, sample)) {
				t.Errorf("%s: %d, want %d with %q:\n%.300s", c.what, status, c.status, c.has, body)
			}
		}
	})

	t.Run("wrong zone redirect", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
		}{{http.MethodGet, "/bravo/c"}, {http.MethodHead, "/bravo"}, {http.MethodGet, "/bravo?list-type=2"}, {http.MethodPut, "/bravo/new"}} {
			status, hdr, body := signedS3(t, c.method, ch.url()+c.path, "ch-dk-2", rootKey, rootSecret)
			if status != http.StatusMovedPermanently || hdr.Get("X-Amz-Bucket-Region") != "at-vie-1" {
				t.Errorf("%s %s at ch-dk-2: HTTP %d, X-Amz-Bucket-Region %q; want 301 and at-vie-1\n%s",
					c.method, c.path, status, hdr.Get("X-Amz-Bucket-Region"), body)
				continue
			}
			if c.method == http.MethodHead {
				continue // no body
			}
			var e s3ErrorXML
			if err := xml.Unmarshal(body, &e); err != nil {
				t.Errorf("%s %s: 301 body is no <Error>: %v\n%s", c.method, c.path, err, body)
				continue
			}
			if e.Code != "PermanentRedirect" || e.Endpoint != at.url() || e.BucketName != "bravo" {
				t.Errorf("%s %s: <Error> %+v; want PermanentRedirect naming endpoint %s", c.method, c.path, e, at.url())
			}
		}
		// The AWS SDK sees the redirect as PermanentRedirect.
		_, err := getString(ctx, rootAT, "alpha", "a")
		wantS3Code(t, "SDK get-object alpha/a at at-vie-1", err, "PermanentRedirect")
		// A bucket no zone has is NoSuchBucket, not a redirect.
		if status, _, body := signedS3(t, http.MethodGet, ch.url()+"/nowhere/x", "ch-dk-2", rootKey, rootSecret); status != http.StatusNotFound {
			t.Errorf("GET /nowhere/x: HTTP %d, want 404\n%s", status, body)
		}
	})

	t.Run("usage listing", func(t *testing.T) {
		type usage struct {
			Name      string `json:"name"`
			Zone      string `json:"zone-name"`
			Size      int64  `json:"size"`
			CreatedAt string `json:"created-at"`
		}
		want := map[string]usage{
			"alpha":     {Zone: "ch-dk-2", Size: 1234},
			"bravo":     {Zone: "at-vie-1", Size: 5000},
			"transient": {Zone: "at-vie-1", Size: 0},
		}
		// Zones report usage every 5 s.
		pollUntil(t, 20*time.Second, func() string {
			var out struct {
				Usage []usage `json:"sos-buckets-usage"`
			}
			d.root().must(t, http.MethodGet, "/v2/sos-buckets-usage", nil, &out)
			got := map[string]usage{}
			for _, u := range out.Usage {
				got[u.Name] = u
			}
			for name, w := range want {
				g, ok := got[name]
				if !ok || g.Zone != w.Zone || g.Size != w.Size {
					return "usage listing " + jsonString(out.Usage) + " lacks " + name + " in " + w.Zone + " with size " + strconv.FormatInt(w.Size, 10)
				}
				ts, err := time.Parse(time.RFC3339, g.CreatedAt)
				if err != nil || ts.Before(start.Add(-2*time.Second)) || ts.After(time.Now().Add(2*time.Second)) {
					return "bucket " + name + ": created-at " + g.CreatedAt + " is not an RFC 3339 time of this test"
				}
			}
			if len(got) != len(want) {
				return "usage listing has other buckets: " + jsonString(out.Usage)
			}
			return ""
		})
	})

	// The seed's role, its buckets, and a key bound to it.
	roleID := d.root().createRole(t, "replication-my-source-my-destination", seedRolePolicy, true)
	wantOK(t, "create my-source in ch-dk-2", mkBucket(rootCH, "my-source"))
	wantOK(t, "create my-destination in at-vie-1", mkBucket(rootAT, "my-destination"))
	wantOK(t, "put my-source/config.json", putString(ctx, rootCH, "my-source", "config.json", "source data"))
	key, secret := d.root().createKey(t, "replication", roleID)
	roleCH := d.s3("ch-dk-2", key, secret)
	propagation(t, "new key reaches ch-dk-2", time.Now(), propagationLimit, func() bool {
		_, err := getString(ctx, roleCH, "my-source", "config.json")
		return err == nil
	})

	t.Run("temporary role credentials", func(t *testing.T) {
		body := `{"role-id":"` + roleID + `","zone":"at-vie-1","ttl-seconds":600}`
		status, raw := zoneCall(t, d.api, ch.token, http.MethodPost, "/internal/v1/role-credentials", body)
		if status != http.StatusOK {
			t.Fatalf("POST /internal/v1/role-credentials: HTTP %d %s", status, raw)
		}
		var creds struct {
			AccessKey    string    `json:"access-key"`
			Secret       string    `json:"secret"`
			SessionToken string    `json:"session-token"`
			Expiration   time.Time `json:"expiration"`
		}
		if err := json.Unmarshal(raw, &creds); err != nil {
			t.Fatal(err)
		}
		if creds.AccessKey == "" || creds.Secret == "" || creds.SessionToken == "" ||
			creds.Expiration.Before(time.Now().Add(5*time.Minute)) || creds.Expiration.After(time.Now().Add(11*time.Minute)) {
			t.Fatalf("role credentials %+v: want key, secret, token and an expiry in about 10 minutes", creds)
		}
		// Fetched with ch-dk-2's token for at-vie-1, verified by at-vie-1
		// alone, authorized with the role's policy.
		tmpAT := newS3Session(at.url(), "at-vie-1", creds.AccessKey, creds.Secret, creds.SessionToken)
		wrongZone := newS3Session(ch.url(), "ch-dk-2", creds.AccessKey, creds.Secret, creds.SessionToken)
		_, err := getString(ctx, wrongZone, "my-source", "config.json")
		wantS3Code(t, "credentials minted for at-vie-1 presented to ch-dk-2", err, "InvalidToken")
		var chCreds struct {
			AccessKey    string `json:"access-key"`
			Secret       string `json:"secret"`
			SessionToken string `json:"session-token"`
		}
		status, raw = zoneCall(t, d.api, ch.token, http.MethodPost, "/internal/v1/role-credentials", `{"role-id":"`+roleID+`","zone":"ch-dk-2","ttl-seconds":600}`)
		if status != http.StatusOK || json.Unmarshal(raw, &chCreds) != nil {
			t.Fatalf("POST /internal/v1/role-credentials for ch-dk-2: HTTP %d %s", status, raw)
		}
		tmpCH := newS3Session(ch.url(), "ch-dk-2", chCreds.AccessKey, chCreds.Secret, chCreds.SessionToken)
		wantOK(t, "temp put-object my-destination at at-vie-1", putString(ctx, tmpAT, "my-destination", "config.json", "replica"))
		_, err = getString(ctx, tmpAT, "my-destination", "config.json")
		wantS3Code(t, "temp get-object my-destination", err, "AccessDenied")
		_, err = tmpAT.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("my-destination")})
		wantS3Code(t, "temp list-objects my-destination", err, "AccessDenied")
		wantS3Code(t, "temp put-object bravo", putString(ctx, tmpAT, "bravo", "x", "x"), "AccessDenied")
		got, err := getString(ctx, tmpCH, "my-source", "config.json")
		wantOK(t, "temp get-object my-source at ch-dk-2", err)
		if err == nil && got != "source data" {
			t.Errorf("temp get-object my-source/config.json = %q", got)
		}
		// Without the session token, or with a tampered one, the key is nothing
		// (400 InvalidToken, as S3 answers a bad security token).
		noToken := newS3(at.url(), "at-vie-1", creds.AccessKey, creds.Secret)
		wantS3Code(t, "temp key without its session token", putString(ctx, noToken, "my-destination", "x", "x"), "InvalidToken")
		tok := []byte(creds.SessionToken)
		tok[len(tok)/2] ^= 1
		tampered := newS3Session(at.url(), "at-vie-1", creds.AccessKey, creds.Secret, string(tok))
		wantS3Code(t, "temp key with a tampered session token", putString(ctx, tampered, "my-destination", "x", "x"), "InvalidToken")
		// The internal API wants a zone token.
		if status, raw := zoneCall(t, d.api, "not-a-token", http.MethodPost, "/internal/v1/role-credentials", body); status != http.StatusForbidden {
			t.Errorf("role credentials with a bad zone token: HTTP %d %s, want 403", status, raw)
		}
		if status, raw := zoneCall(t, d.api, ch.token, http.MethodPost, "/internal/v1/role-credentials", `{"role-id":"no-such-role"}`); status != http.StatusNotFound && status != http.StatusBadRequest {
			t.Errorf("role credentials for an unknown role: HTTP %d %s, want 404 or 400", status, raw)
		}
	})

	t.Run("control plane down", func(t *testing.T) {
		if v, ok := promValue(t, ch.url(), "sos_control_plane_reachable"); !ok || v != 1 {
			t.Fatalf("before the kill, sos_control_plane_reachable = %v (present %v), want 1", v, ok)
		}
		d.control.kill(syscall.SIGKILL)
		pollUntil(t, 10*time.Second, func() string {
			for _, z := range []*ctlZone{ch, at} {
				if v, ok := promValue(t, z.url(), "sos_control_plane_reachable"); !ok || v != 0 {
					return z.name + ": sos_control_plane_reachable is not 0 with the control plane killed"
				}
			}
			return ""
		})
		// What the zones knew still works.
		got, err := getString(ctx, roleCH, "my-source", "config.json")
		wantOK(t, "role key get-object my-source with the control plane down", err)
		if err == nil && got != "source data" {
			t.Errorf("get-object my-source/config.json = %q", got)
		}
		wantS3Code(t, "role key put-object my-source with the control plane down", putString(ctx, roleCH, "my-source", "x", "x"), "AccessDenied")
		wantOK(t, "root put-object bravo with the control plane down", putString(ctx, rootAT, "bravo", "d", "still here"))
		// A new bucket name cannot be registered: refused with a 503 (that
		// clients retry), and not created.
		wantS3Code(t, "CreateBucket with the control plane down", mkBucket(rootCH, "orphan"), "ServiceUnavailable")
		if _, err := rootCH.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("orphan")}); err == nil {
			t.Error("a bucket whose name could not be registered exists")
		}
		for _, z := range []*ctlZone{ch, at} {
			if !strings.Contains(z.output(), "cannot reach the control plane") {
				t.Errorf("zone %s does not log that it cannot reach the control plane:\n%s", z.name, z.output())
			}
		}
	})

	// Last: the restarted control plane lives as long as this subtest.
	t.Run("control plane back", func(t *testing.T) {
		d.startControl(t)
		// The zones retry with a backoff of at most 5 s.
		pollUntil(t, 15*time.Second, func() string {
			for _, z := range []*ctlZone{ch, at} {
				if v, ok := promValue(t, z.url(), "sos_control_plane_reachable"); !ok || v != 1 {
					return z.name + ": sos_control_plane_reachable is not back to 1 with the control plane restarted"
				}
			}
			return ""
		})
		// Changes made after the restart reach the zones as before.
		start := time.Now()
		d.root().must(t, http.MethodDelete, "/v2/api-key/"+key, nil, nil)
		propagation(t, "key revoked after a control plane restart refused in ch-dk-2", start, propagationLimit, func() bool {
			_, err := getString(ctx, roleCH, "my-source", "config.json")
			_, status := s3Code(err)
			return status == http.StatusForbidden
		})
		wantOK(t, "CreateBucket once the control plane is back", mkBucket(rootCH, "orphan"))
	})
}

// zoneCall calls the control plane's internal zone API with a zone token.
func zoneCall(t *testing.T, base, token, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
