package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// propagationLimit is the deadline for a created or revoked key, or
// a changed policy, to take effect in every zone.
const propagationLimit = 2 * time.Second

// TestSeedRoleEndToEnd is the IAM walkthrough of the seed against a real
// `sosd dev`: the root key creates the seed's role and an API key over API
// v2; with that key the AWS SDK may read my-source and write
// my-destination and nothing else; revoking the key and narrowing the
// policy take effect in the zones within 2 seconds.
func TestSeedRoleEndToEnd(t *testing.T) {
	ctx := context.Background()
	d := startDev(t, t.TempDir())
	api := apiV2{base: "http://" + d.api, key: rootKey, secret: rootSecret}
	chdk := "http://" + d.zones["ch-dk-2"]
	atvie := "http://" + d.zones["at-vie-1"]

	// The role and a key bound to it.
	roleID := api.createRole(t, "replication-my-source-my-destination", seedRolePolicy, true)
	var role struct {
		ID       string          `json:"id"`
		Name     string          `json:"name"`
		Editable bool            `json:"editable"`
		Policy   json.RawMessage `json:"policy"`
	}
	api.must(t, http.MethodGet, "/v2/iam-role/"+roleID, nil, &role)
	if role.ID != roleID || !role.Editable || !strings.Contains(string(role.Policy), "operation.startsWith('put-object')") {
		t.Fatalf("GET /v2/iam-role/%s = %+v", roleID, role)
	}
	createdAt := time.Now()
	key, secret := api.createKey(t, "replication", roleID)

	// The buckets, as root, each in its zone.
	rootCH := newS3(chdk, "ch-dk-2", rootKey, rootSecret)
	rootAT := newS3(atvie, "at-vie-1", rootKey, rootSecret)
	for _, b := range []struct {
		c    *s3.Client
		name string
	}{{rootCH, "my-source"}, {rootAT, "my-destination"}, {rootCH, "other-ch"}, {rootAT, "other-at"}} {
		if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.name)}); err != nil {
			t.Fatalf("root CreateBucket %s: %v", b.name, err)
		}
	}
	for _, o := range []struct {
		c            *s3.Client
		bucket, body string
	}{{rootCH, "my-source", "source data"}, {rootAT, "my-destination", "destination data"}, {rootCH, "other-ch", "x"}, {rootAT, "other-at", "y"}} {
		if err := putString(ctx, o.c, o.bucket, "config.json", o.body); err != nil {
			t.Fatalf("root PutObject %s/config.json: %v", o.bucket, err)
		}
	}

	roleCH := newS3(chdk, "ch-dk-2", key, secret)
	roleAT := newS3(atvie, "at-vie-1", key, secret)
	// A new key works in both zones within the deadline (it usually
	// already does: the buckets above took longer than the propagation).
	propagation(t, "created key reaches ch-dk-2", createdAt, propagationLimit, func() bool {
		_, err := getString(ctx, roleCH, "my-source", "config.json")
		return err == nil
	})
	propagation(t, "created key reaches at-vie-1", createdAt, propagationLimit, func() bool {
		return putString(ctx, roleAT, "my-destination", "probe", "p") == nil
	})

	t.Run("allowed", func(t *testing.T) {
		got, err := getString(ctx, roleCH, "my-source", "config.json")
		wantOK(t, "get-object my-source", err)
		if err == nil && got != "source data" {
			t.Errorf("get-object my-source/config.json = %q", got)
		}
		wantOK(t, "put-object my-destination", putString(ctx, roleAT, "my-destination", "config.json", "replica"))
		_, err = roleAT.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
			Bucket: aws.String("my-destination"), Key: aws.String("config.json"),
			Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}},
		})
		wantOK(t, "put-object-tagging my-destination", err)
		if got, err := getString(ctx, rootAT, "my-destination", "config.json"); err != nil || got != "replica" {
			t.Errorf("root reads my-destination/config.json = %q, %v; want the role's write", got, err)
		}
	})

	t.Run("denied", func(t *testing.T) {
		_, err := roleAT.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("my-destination")})
		wantS3Code(t, "list-objects my-destination", err, "AccessDenied")
		_, err = roleCH.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("my-source")})
		wantS3Code(t, "list-objects my-source", err, "AccessDenied")
		_, err = roleAT.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("my-destination"), Key: aws.String("config.json")})
		wantS3Code(t, "delete-object my-destination", err, "AccessDenied")
		_, err = getString(ctx, roleAT, "my-destination", "config.json")
		wantS3Code(t, "get-object my-destination", err, "AccessDenied")
		wantS3Code(t, "put-object my-source", putString(ctx, roleCH, "my-source", "new", "z"), "AccessDenied")
		_, err = roleCH.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("my-source"), Key: aws.String("config.json")})
		wantS3Code(t, "delete-object my-source", err, "AccessDenied")
		_, err = getString(ctx, roleCH, "other-ch", "config.json")
		wantS3Code(t, "get-object other-ch", err, "AccessDenied")
		_, err = getString(ctx, roleAT, "other-at", "config.json")
		wantS3Code(t, "get-object other-at", err, "AccessDenied")
		wantS3Code(t, "put-object other-at", putString(ctx, roleAT, "other-at", "x", "x"), "AccessDenied")
		_, err = roleCH.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("role-made")})
		wantS3Code(t, "create-bucket", err, "AccessDenied")
		_, err = roleCH.ListBuckets(ctx, &s3.ListBucketsInput{})
		wantS3Code(t, "list-buckets", err, "AccessDenied")
		// Nothing the refused calls would have changed did change.
		if got, err := getString(ctx, rootAT, "my-destination", "config.json"); err != nil || got != "replica" {
			t.Errorf("after a refused delete, my-destination/config.json = %q, %v", got, err)
		}
		if _, err := getString(ctx, rootCH, "my-source", "new"); err == nil {
			t.Error("a refused put-object on my-source stored the object")
		}
		// The role's key is no key for API v2's IAM endpoints.
		role := apiV2{base: api.base, key: key, secret: secret}
		if status, body := role.call(t, http.MethodGet, "/v2/iam-role", nil); status != http.StatusForbidden {
			t.Errorf("GET /v2/iam-role with the role's key: HTTP %d %s, want 403", status, body)
		}
	})

	t.Run("invalid policy", func(t *testing.T) {
		bad := `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"operation == 'get-object'"},
			{"action":"allow","expression":"parameters.bucket == && operation"}]}}}`
		status, body := api.call(t, http.MethodPut, "/v2/iam-role/"+roleID+":policy", bad)
		msg := apiMessage(t, body)
		if status != http.StatusBadRequest || !strings.Contains(msg, "services.sos.rules[1].expression") || !strings.Contains(msg, "1:") {
			t.Errorf("invalid expression: HTTP %d %q; want 400 naming services.sos.rules[1].expression and its line:column", status, msg)
		}
		for _, c := range []struct{ doc, field string }{
			{`{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"permit","expression":"true"}]}}}`, "services.sos.rules[0].action"},
			{`{"default-service-strategy":"deny","services":{"ftp":{"type":"allow"}}}`, "services.ftp"},
			{`{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"allow"}]}}}`, "services.sos.rules[0].expression"},
		} {
			status, body := api.call(t, http.MethodPost, "/v2/iam-role", `{"name":"bad","policy":`+c.doc+`}`)
			if msg := apiMessage(t, body); status != http.StatusBadRequest || !strings.Contains(msg, c.field) {
				t.Errorf("POST /v2/iam-role with %s: HTTP %d %q; want 400 naming %s", c.doc, status, msg, c.field)
			}
		}
		// The refused policy changed nothing.
		if _, err := getString(ctx, roleCH, "my-source", "config.json"); err != nil {
			t.Errorf("after a refused policy, get-object my-source: %v", err)
		}
	})

	t.Run("not editable", func(t *testing.T) {
		fixed := api.createRole(t, "fixed", seedRolePolicy, false)
		status, body := api.call(t, http.MethodPut, "/v2/iam-role/"+fixed+":policy", `{"default-service-strategy":"allow"}`)
		if msg := apiMessage(t, body); status != http.StatusBadRequest || !strings.Contains(msg, "not editable") {
			t.Errorf("PUT :policy of a non-editable role: HTTP %d %q; want 400 ... not editable", status, msg)
		}
		status, body = api.call(t, http.MethodPut, "/v2/iam-role/"+fixed, `{"description":"changed"}`)
		if msg := apiMessage(t, body); status != http.StatusBadRequest || !strings.Contains(msg, "not editable") {
			t.Errorf("PUT a non-editable role: HTTP %d %q; want 400 ... not editable", status, msg)
		}
		var r struct {
			Description string          `json:"description"`
			Policy      json.RawMessage `json:"policy"`
		}
		api.must(t, http.MethodGet, "/v2/iam-role/"+fixed, nil, &r)
		if !strings.Contains(string(r.Policy), "my-destination") || r.Description == "changed" {
			t.Errorf("the non-editable role changed: %+v", r)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		start := time.Now()
		var op operation
		api.must(t, http.MethodDelete, "/v2/api-key/"+key, nil, &op)
		if op.State != "success" || op.Reference.ID != key {
			t.Errorf("DELETE /v2/api-key: operation %+v", op)
		}
		for _, z := range []struct {
			name string
			call func() error
		}{
			{"ch-dk-2", func() error { _, err := getString(ctx, roleCH, "my-source", "config.json"); return err }},
			{"at-vie-1", func() error { return putString(ctx, roleAT, "my-destination", "after-revoke", "x") }},
		} {
			propagation(t, "revoked key refused in "+z.name, start, propagationLimit, func() bool {
				_, status := s3Code(z.call())
				return status == http.StatusForbidden
			})
		}
		if status, _ := api.call(t, http.MethodGet, "/v2/api-key/"+key, nil); status != http.StatusNotFound {
			t.Errorf("GET of a revoked key: HTTP %d, want 404", status)
		}
	})

	t.Run("policy change", func(t *testing.T) {
		key2, secret2 := api.createKey(t, "replication-2", roleID)
		roleAT := newS3(atvie, "at-vie-1", key2, secret2)
		roleCH := newS3(chdk, "ch-dk-2", key2, secret2)
		propagation(t, "second key reaches at-vie-1", time.Now(), propagationLimit, func() bool {
			return putString(ctx, roleAT, "my-destination", "before-change", "x") == nil
		})
		readOnly := `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"}]}}}`
		start := time.Now()
		var op operation
		api.must(t, http.MethodPut, "/v2/iam-role/"+roleID+":policy", readOnly, &op)
		if op.State != "success" || op.Reference.ID != roleID {
			t.Errorf("PUT :policy: operation %+v", op)
		}
		propagation(t, "narrowed policy refuses put-object in at-vie-1", start, propagationLimit, func() bool {
			code, _ := s3Code(putString(ctx, roleAT, "my-destination", "after-change", "x"))
			return code == "AccessDenied"
		})
		if _, err := getString(ctx, roleCH, "my-source", "config.json"); err != nil {
			t.Errorf("the narrowed policy still allows get-object on my-source: %v", err)
		}
		// And back: the put rule returns.
		start = time.Now()
		api.must(t, http.MethodPut, "/v2/iam-role/"+roleID+":policy", seedRolePolicy, nil)
		propagation(t, "widened policy allows put-object again in at-vie-1", start, propagationLimit, func() bool {
			return putString(ctx, roleAT, "my-destination", "after-widen", "x") == nil
		})

		// A role still used by a key cannot go; once its keys are gone it can.
		if status, body := api.call(t, http.MethodDelete, "/v2/iam-role/"+roleID, nil); status != http.StatusConflict {
			t.Errorf("DELETE of a role with a key: HTTP %d %s, want 409", status, body)
		}
		api.must(t, http.MethodDelete, "/v2/api-key/"+key2, nil, nil)
		api.must(t, http.MethodDelete, "/v2/iam-role/"+roleID, nil, nil)
		if status, _ := api.call(t, http.MethodGet, "/v2/iam-role/"+roleID, nil); status != http.StatusNotFound {
			t.Errorf("GET of a deleted role: HTTP %d, want 404", status)
		}
	})
}

// apiMessage is the "message" of an API v2 error body.
func apiMessage(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("error body is not JSON {\"message\"}: %s", body)
		return string(body)
	}
	return e.Message
}

// TestDevBannerAndZones checks what `sosd dev` prints (the export line after
// which the sos CLI works) and that GET /v2/zone lists both zones with their
// S3 endpoints and the control plane's API endpoint.
func TestDevBannerAndZones(t *testing.T) {
	d := startDev(t, t.TempDir())
	api := "http://" + d.api
	wantExport := "export SOS_API_ENDPOINT=" + api + " SOS_API_KEY=" + rootKey + " SOS_API_SECRET=" + rootSecret
	pollUntil(t, 5*time.Second, func() string {
		for _, l := range lines(d.output()) {
			if strings.TrimSpace(l) == wantExport {
				return ""
			}
		}
		return "no line " + wantExport + " in the output of sosd dev:\n" + d.output()
	})

	var zones struct {
		Zones []struct {
			Name        string `json:"name"`
			APIEndpoint string `json:"api-endpoint"`
			SOSEndpoint string `json:"sos-endpoint"`
		} `json:"zones"`
	}
	apiV2{base: api, key: rootKey, secret: rootSecret}.must(t, http.MethodGet, "/v2/zone", nil, &zones)
	got := map[string]string{}
	for _, z := range zones.Zones {
		if z.APIEndpoint != api+"/v2" {
			t.Errorf("zone %s: api-endpoint %q, want %q", z.Name, z.APIEndpoint, api+"/v2")
		}
		got[z.Name] = z.SOSEndpoint
	}
	for name, addr := range d.zones {
		if got[name] != "http://"+addr {
			t.Errorf("zone %s: sos-endpoint %q, want %q (all: %+v)", name, got[name], "http://"+addr, zones.Zones)
		}
	}
	if len(zones.Zones) != 2 {
		t.Errorf("GET /v2/zone lists %d zones, want 2: %+v", len(zones.Zones), zones.Zones)
	}
	// Exoscale's zone list is public: an unsigned request works too.
	resp, err := http.Get(api + "/v2/zone")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("unsigned GET /v2/zone: HTTP %d", resp.StatusCode)
	}
}
