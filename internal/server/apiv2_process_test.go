package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/auth/exo2"
	"sos/internal/s3client"
)

// Helpers shared by the process tests that talk API v2 and check S3
// answers: an EXO2-signing API v2 client, the seed's replication policy,
// and S3 error inspection.

// seedRolePolicy is policy.json of the seed (bucket-replication-examples.txt).
const seedRolePolicy = `{
"default-service-strategy": "deny",
"services": {
"sos": {
"type": "rules",
"rules": [
{
"action": "allow",
"expression": "parameters.bucket == 'my-source' && operation == 'get-object'"
},
{
"action": "allow",
"expression": "parameters.bucket == 'my-destination' && operation.startsWith('put-object')"
}
]
}
}
}`

// apiExpiries gives every API v2 request of the tests its own signature:
// the control plane accepts a write's signature once.
var apiExpiries exo2.Expiries

// apiV2 is an API v2 client signing with EXO2-HMAC-SHA256.
type apiV2 struct {
	base        string // http://host:port
	key, secret string
}

// call sends one request and returns the status and the body. body is
// sent as is when it is a string or []byte, as JSON otherwise (nil: none).
func (c apiV2) call(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := exo2.Sign(req, raw, c.key, c.secret, apiExpiries.Next(time.Now(), 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// must sends a request that must answer 200 and decodes the answer into out
// (when not nil).
func (c apiV2) must(t *testing.T, method, path string, body, out any) {
	t.Helper()
	status, raw := c.call(t, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", method, path, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

// operation is the Exoscale operation object create/update/delete calls
// answer with.
type operation struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Reference struct {
		ID      string `json:"id"`
		Link    string `json:"link"`
		Command string `json:"command"`
	} `json:"reference"`
}

// createRole creates a role from a policy document and returns its ID.
func (c apiV2) createRole(t *testing.T, name, policy string, editable bool) string {
	t.Helper()
	var op operation
	c.must(t, http.MethodPost, "/v2/iam-role", map[string]any{
		"name": name, "description": "sos process test role " + name,
		"editable": editable, "policy": json.RawMessage(policy),
	}, &op)
	if op.State != "success" || op.ID == "" || op.Reference.ID == "" || op.Reference.Command != "get-iam-role" {
		t.Fatalf("POST /v2/iam-role: unexpected operation %+v", op)
	}
	return op.Reference.ID
}

// createKey creates an API key bound to roleID.
func (c apiV2) createKey(t *testing.T, name, roleID string) (key, secret string) {
	t.Helper()
	var k struct {
		Key    string `json:"key"`
		Secret string `json:"secret"`
		Name   string `json:"name"`
		RoleID string `json:"role-id"`
	}
	c.must(t, http.MethodPost, "/v2/api-key", map[string]string{"name": name, "role-id": roleID}, &k)
	if k.Key == "" || k.Secret == "" || k.RoleID != roleID || k.Name != name {
		t.Fatalf("POST /v2/api-key: unexpected answer %+v", k)
	}
	return k.Key, k.Secret
}

// newS3Session is newS3 with a session token (temporary credentials).
func newS3Session(endpoint, region, key, secret, token string) *s3.Client {
	return s3client.New(s3client.Config{Endpoint: endpoint, Region: region, AccessKey: key, Secret: secret, SessionToken: token,
		MaxAttempts: 1, SDKChecksums: true})
}

// s3Code is the S3 error code and HTTP status of err ("" and 0 for nil).
func s3Code(err error) (string, int) {
	if e := s3client.ErrorOf(err); e != nil {
		return e.Code, e.StatusCode
	}
	return "", 0
}

// wantS3Code fails unless err is the S3 error code.
func wantS3Code(t *testing.T, what string, err error, code string) {
	t.Helper()
	got, status := s3Code(err)
	if got != code {
		t.Errorf("%s: want %s, got %q (HTTP %d): %v", what, code, got, status, err)
	}
}

// wantOK fails when err is not nil.
func wantOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		code, status := s3Code(err)
		t.Errorf("%s: want success, got %s (HTTP %d): %v", what, code, status, err)
	}
}

// propagation polls cond every 10 ms until it is true and returns how long
// that took from start. It fails the test when limit passes first: the
// issue's functional deadline for a change to reach every zone.
func propagation(t *testing.T, what string, start time.Time, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	for {
		if cond() {
			d := time.Since(start)
			t.Logf("%s: took effect after %v", what, d.Round(time.Millisecond))
			return d
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: not in effect after %v (the limit is %v)", what, time.Since(start).Round(time.Millisecond), limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pollUntil polls cond every 100 ms until it returns "" and fails with its
// last answer when limit passes first. For things that happen on a
// schedule (usage reports), not for the 2 s propagation deadline.
func pollUntil(t *testing.T, limit time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// putString stores body at bucket/key.
func putString(ctx context.Context, c *s3.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

// getString reads bucket/key.
func getString(ctx context.Context, c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}
