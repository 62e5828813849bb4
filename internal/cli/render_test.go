package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/replconfig"
	"sos/internal/repldiff"
	"sos/internal/s3client"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	t1 = time.Date(2025, 2, 20, 15, 50, 12, 0, time.UTC)
	t2 = time.Date(2025, 2, 20, 15, 50, 13, 0, time.UTC)
)

func seedRole() role {
	return role{
		ID: "6f00a21e-a535-4286-86c5-e81eeab3b4ff", Name: "replication-my-source-my-destination",
		Description: "sos bucket replication between my-source and my-destination", Editable: true,
		Policy: json.RawMessage(`{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"}]}}}`),
	}
}

func seedConfig(t *testing.T) *replconfig.Config {
	cfg, err := replconfig.ParseJSON([]byte(`{
"Role": "6f00a21e-a535-4286-86c5-e81eeab3b4ff",
"Rules": [{"ID": "vie1-follower", "Priority": 1, "Filter": {"Prefix": ""}, "Status": "Enabled",
"DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": {"Bucket": "my-destination"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// goldenViews is every command's view built from fixed data.
func goldenViews(t *testing.T) map[string]view {
	labelled := seedRole()
	labelled.Labels = map[string]string{"team": "storage", "env": "prod"}
	labelled.Permissions = []string{"a", "b"}
	// As the API sends it (Go's encoder escapes &): shown as written.
	labelled.Policy = json.RawMessage(strings.ReplaceAll(string(labelled.Policy), "&", `\u0026`))
	objects := []listEntry{
		{Key: "logs/", Dir: true},
		{Key: "config.json", Size: 372, LastModified: t1, ETag: "e1"},
		{Key: "policy.json", Size: 418, LastModified: t2, ETag: "e2"},
		{Key: "big.bin", Size: 1288490189, LastModified: t2, ETag: "e3-12"},
	}
	versions := []listEntry{
		{Key: "config.json", Size: 372, LastModified: t1, VersionID: "0001740066612000000-ch-dk-2", IsLatest: true},
		{Key: "policy.json", LastModified: t2.Add(time.Minute), VersionID: "0001740066673000000-ch-dk-2", IsLatest: true, DeleteMarker: true},
		{Key: "policy.json", Size: 418, LastModified: t2, VersionID: "0001740066613000000-ch-dk-2"},
	}
	src := &repldiff.Version{Key: "a.txt", VersionID: "v1", ETag: "e1", Size: 3}
	return map[string]view{
		"iam-role-create":     roleView(seedRole()),
		"iam-role-show":       roleWithPolicyView(labelled),
		"iam-role-list":       rolesView([]role{seedRole(), {ID: "91390068-c386-4d9d-b0f1-951e2baa818e", Name: "readers", Description: "read only"}}),
		"iam-role-list-empty": rolesView(nil),
		"iam-api-key-create":  apiKeyView(apiKey{Key: "EXO0123456789abcdef", Secret: "s3cr3t", Name: "replicator", RoleID: seedRole().ID}, seedRole().Name),
		"iam-api-key-list":    apiKeysView([]apiKey{{Key: "EXO0123456789abcdef", Name: "replicator", RoleID: seedRole().ID}}),
		"storage-create": bucketView(bucketInfo{Name: "my-source", Zone: "ch-dk-2", Versioning: "Unversioned", Replication: "none",
			ObjectOwnership: "BucketOwnerEnforced", ACL: aclFromGrants([]types.Grant{{Grantee: &types.Grantee{ID: aws.String("xxxxxxxxxxxxxxxxxxxxxxx"), Type: types.TypeCanonicalUser}, Permission: types.PermissionFullControl}})}),
		"storage-show-bucket": bucketView(bucketInfo{Name: "my-source", Zone: "ch-dk-2", Versioning: "Enabled", Replication: "1 rule(s), role 6f00a21e-a535-4286-86c5-e81eeab3b4ff",
			ObjectOwnership: "ObjectWriter", ACL: aclFromGrants([]types.Grant{
				{Grantee: &types.Grantee{ID: aws.String("owner-id"), Type: types.TypeCanonicalUser}, Permission: types.PermissionFullControl},
				{Grantee: &types.Grantee{URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers"), Type: types.TypeGroup}, Permission: types.PermissionRead},
				{Grantee: &types.Grantee{EmailAddress: aws.String("ops@example.com"), Type: types.TypeAmazonCustomerByEmail}, Permission: types.PermissionRead},
			}),
			CORS: []corsRule{{AllowedOrigins: []string{"https://example.com"}, AllowedMethods: []string{"GET", "PUT"}, MaxAgeSeconds: 3000}, {AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, ExposeHeaders: []string{"ETag"}}}}),
		"storage-show-bucket-denied": bucketView(bucketInfo{Name: "my-destination", Zone: "at-vie-1", ObjectOwnership: notShown, Versioning: notShown, Replication: notShown}),
		"storage-show":               objectView(objectInfo{Path: "config.json", Bucket: "my-source", Zone: "ch-dk-2", Size: 372, LastModified: t1, ETag: "0f343b0931126a20f133d67c2b018a3b", VersionID: "0001740066612000000-ch-dk-2", ContentType: "application/json", Metadata: map[string]string{"owner": "ops", "a": "b"}, ReplicationStatus: "COMPLETED"}),
		"storage-show-plain":         objectView(objectInfo{Path: "notes.txt", Bucket: "plain", Zone: "at-vie-1", Size: 1234, LastModified: t2, ETag: "abc", ContentType: "text/plain"}),
		"storage-list":               objectsView(objects, listOptions{}),
		"storage-list-version":       objectsView(versions, listOptions{Versions: true}),
		"storage-list-buckets":       bucketsView([]bucketUsage{{Name: "my-destination", ZoneName: "at-vie-1", Size: 790, CreatedAt: t1}, {Name: "my-source", ZoneName: "ch-dk-2", Size: 5 << 30, CreatedAt: t2}}),
		"storage-upload":             transfersView([]transferResult{{Local: "up/config.json", URL: "sos://my-source/config.json", Size: 372}, {Local: "up/x", URL: "sos://my-source/x", Size: 1, Error: "access denied: no"}}),
		"versioning-status":          versioningView(versioningInfo{Bucket: "my-source", Zone: "ch-dk-2", Versioning: "Enabled"}),
		"replication-show":           replicationConfigView(seedConfig(t)),
		"replication-status": replStatusView(s3client.ReplicationStatus{Bucket: "my-source", Rules: []s3client.RuleStatus{
			{ID: "vie1-follower", Destination: "my-destination", Status: "Enabled", Pending: 3, PendingBytes: 4096, Failed: 1, Completed: 10, OldestPendingSeconds: 192.4,
				Failures: []s3client.FailureInfo{
					{Key: "secret.txt", VersionID: "v9", Reason: "AccessDenied: replicating: role replication-x does not allow put-object on my-destination/secret.txt (no rule of services.sos matches put-object on bucket my-destination key secret.txt)"},
					{Key: "gone.txt", VersionID: "v10", Reason: "NoSuchBucket: the destination bucket my-destination does not exist"},
				}},
			{ID: "quiet", Destination: "other", Status: "Enabled"},
		}}),
		"replication-status-none": replStatusView(s3client.ReplicationStatus{Bucket: "my-source"}),
		"replication-resync":      message{Text: "4 version(s) queued for replication", JSON: map[string]int64{"queued": 4}},
		"replication-diff":        diffView("sos://a", "sos://b", []repldiff.Difference{{Key: "a.txt", VersionID: "v1", Kind: repldiff.MissingInDestination, Source: src}}),
		"replication-diff-same":   diffView("sos://a", "sos://b", nil),
		"zone-list":               zonesView([]zoneInfo{{Name: "ch-dk-2", APIEndpoint: "http://127.0.0.1:8080/v2", SOSEndpoint: "http://127.0.0.1:9001"}, {Name: "at-vie-1", APIEndpoint: "http://127.0.0.1:8080/v2", SOSEndpoint: "http://127.0.0.1:9002"}}),
		"config-list": accountsView(&ConfigFile{Default: "dev", Accounts: map[string]*Account{
			"dev":  {Name: "dev", Endpoint: "http://127.0.0.1:8080", Key: "EXOdev", Secret: "x", Zone: "ch-dk-2"},
			"prod": {Name: "prod", Endpoint: "https://sos.example.com", Key: "EXOprod", Secret: "y"},
		}}),
	}
}

func renderAll(t *testing.T, v view) []byte {
	var b bytes.Buffer
	for _, f := range []string{formatTable, formatText, formatJSON} {
		b.WriteString("== -O " + f + "\n")
		if err := render(&b, f, v); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for name, v := range goldenViews(t) {
		t.Run(name, func(t *testing.T) {
			got := renderAll(t, v)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
			}
			// The JSON form is always valid JSON.
			var jb bytes.Buffer
			if err := render(&jb, formatJSON, v); err != nil || !json.Valid(jb.Bytes()) {
				t.Errorf("-O json is not valid JSON: %v %s", err, jb.String())
			}
		})
	}
}

// The walkthrough greps these exact shapes: keep them true whatever the
// golden files say.
func TestSeedShapes(t *testing.T) {
	views := goldenViews(t)
	var b bytes.Buffer
	if err := render(&b, formatTable, views["storage-list"]); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC +372 B +config.json$`,
		`(?m)^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC +418 B +policy.json$`,
		`(?m)UTC +1\.2 GiB +big.bin$`,
		`(?m)^ +DIR +logs/$`,
	} {
		if !regexp.MustCompile(re).Match(b.Bytes()) {
			t.Errorf("storage list output does not match %s:\n%s", re, b.String())
		}
	}
	b.Reset()
	if err := render(&b, formatTable, views["storage-list-version"]); err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)\spolicy\.json(\s|$)`).FindAll(b.Bytes(), -1)); n != 2 {
		t.Errorf("--versions: want one line per version of policy.json (2), got %d:\n%s", n, b.String())
	}
	b.Reset()
	if err := render(&b, formatTable, views["storage-show"]); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Replication Status.*COMPLETED`).Match(b.Bytes()) {
		t.Errorf("storage show lacks the replication status:\n%s", b.String())
	}
	b.Reset()
	if err := render(&b, formatTable, views["iam-role-create"]); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "┼───") || !strings.Contains(lines[1], "│ ID          │ 6f00a21e-a535-4286-86c5-e81eeab3b4ff") {
		t.Errorf("role table does not look like the seed's:\n%s", b.String())
	}
}

// storage create shows the rows of exo's table in the seed, in its order
// (the seed's copy has its spaces squeezed: so are ours here).
func TestStorageCreateLikeSeed(t *testing.T) {
	var b bytes.Buffer
	if err := render(&b, formatTable, goldenViews(t)["storage-create"]); err != nil {
		t.Fatal(err)
	}
	seed := []string{
		"│ STORAGE │ │", "│ Name │ my-source │", "│ Zone │ ch-dk-2 │", "│ ACL │ │",
		"│ │ Read - │", "│ │ Write - │", "│ │ Read ACP - │", "│ │ Write ACP - │",
		"│ │ Full Control xxxxxxxxxxxxxxxxxxxxxxx │", "│ │ │", "│ CORS │ │", "│ Object Ownership │ BucketOwnerEnforced │",
	}
	var got []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "│") {
			got = append(got, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(got) < len(seed) {
		t.Fatalf("storage create shows %d rows, the seed %d:\n%s", len(got), len(seed), b.String())
	}
	for i, want := range seed {
		if got[i] != want {
			t.Errorf("row %d is %q, the seed's %q", i, got[i], want)
		}
	}
}

func TestHumanAge(t *testing.T) {
	for s, want := range map[float64]string{0: "0s", 42.4: "42s", 192: "3m12s", 7500: "2h05m"} {
		if got := humanAge(s); got != want {
			t.Errorf("humanAge(%v) = %q, want %q", s, got, want)
		}
	}
}

func TestUnescapeHTML(t *testing.T) {
	for in, want := range map[string]string{
		`{"e":"a \u0026\u0026 b \u003c c \u003E d"}`: `{"e":"a && b < c > d"}`,
		`{"e":"a\\u0026"}`:                           `{"e":"a\\u0026"}`,
		`{"e":"\u00e9\n"}`:                           `{"e":"\u00e9\n"}`,
		`{"e":"plain"}`:                              `{"e":"plain"}`,
	} {
		if got := string(unescapeHTML(json.RawMessage(in))); got != want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", in, got, want)
		}
	}
}
