package server_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sos/internal/localca"
)

// TestAWSCLISmoke drives Debian's awscli against a real `sosd dev`.
func TestAWSCLISmoke(t *testing.T) {
	aws := requireTool(t, "/usr/bin/aws", "awscli")
	d := startDev(t, t.TempDir())
	env := cleanEnv("AWS_ACCESS_KEY_ID="+rootKey, "AWS_SECRET_ACCESS_KEY="+rootSecret,
		"AWS_DEFAULT_REGION=ch-dk-2", "HOME="+t.TempDir())
	ep := "http://" + d.zones["ch-dk-2"]
	s3 := func(args ...string) string {
		return run(t, env, aws, append([]string{"--endpoint-url", ep}, args...)...)
	}

	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	os.WriteFile(small, []byte("hello from awscli\n"), 0o644)
	big := filepath.Join(dir, "big.bin")
	data := make([]byte, 20<<20)
	rand.Read(data)
	os.WriteFile(big, data, 0o644)

	s3("s3", "mb", "s3://smoke")
	s3("s3api", "put-bucket-versioning", "--bucket", "smoke", "--versioning-configuration", "Status=Enabled")
	if out := s3("s3api", "get-bucket-versioning", "--bucket", "smoke"); !strings.Contains(out, "Enabled") {
		t.Fatalf("versioning not Enabled: %s", out)
	}
	s3("s3", "cp", small, "s3://smoke/docs/small.txt")
	s3("s3", "cp", small, "s3://smoke/docs/small.txt") // a second version
	s3("s3", "cp", big, "s3://smoke/big.bin")          // multipart (awscli splits at 8 MiB)
	out := s3("s3", "ls", "--recursive", "s3://smoke")
	if !strings.Contains(out, "docs/small.txt") || !strings.Contains(out, "big.bin") || !strings.Contains(out, "20971520") {
		t.Fatalf("listing lacks the objects:\n%s", out)
	}
	got := filepath.Join(dir, "got.bin")
	s3("s3", "cp", "s3://smoke/big.bin", got)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, data) {
		t.Fatal("the 20 MiB object read back differs")
	}
	if out := s3("s3api", "head-object", "--bucket", "smoke", "--key", "big.bin"); !strings.Contains(out, `-3\"`) {
		t.Fatalf("a 20 MiB upload in 8 MiB parts should have a 3-part ETag: %s", out)
	}
	s3("s3", "rm", "s3://smoke/docs/small.txt")
	out = s3("s3api", "list-object-versions", "--bucket", "smoke", "--prefix", "docs/")
	if strings.Count(out, `"VersionId"`) != 3 || !strings.Contains(out, "DeleteMarkers") {
		t.Fatalf("want two versions and a delete marker of docs/small.txt:\n%s", out)
	}
	if out := s3("s3", "ls", "--recursive", "s3://smoke"); strings.Contains(out, "small.txt") {
		t.Fatalf("a deleted object is still listed:\n%s", out)
	}
	if _, err := runErr(env, aws, "--endpoint-url", ep, "s3api", "get-object", "--bucket", "smoke", "--key", "docs/small.txt", filepath.Join(dir, "x")); err == nil {
		t.Fatal("GET of a deleted object succeeded")
	}
}

// TestRcloneSmoke drives Debian's rclone against a real `sosd dev`.
func TestRcloneSmoke(t *testing.T) {
	rclone := requireTool(t, "/usr/bin/rclone", "rclone")
	d := startDev(t, t.TempDir())
	env := cleanEnv("HOME="+t.TempDir(),
		"RCLONE_CONFIG_SOS_TYPE=s3", "RCLONE_CONFIG_SOS_PROVIDER=Other",
		"RCLONE_CONFIG_SOS_ACCESS_KEY_ID="+rootKey, "RCLONE_CONFIG_SOS_SECRET_ACCESS_KEY="+rootSecret,
		"RCLONE_CONFIG_SOS_ENDPOINT=http://"+d.zones["at-vie-1"], "RCLONE_CONFIG_SOS_REGION=at-vie-1",
		"RCLONE_CONFIG_SOS_FORCE_PATH_STYLE=true")
	rc := func(args ...string) string { return run(t, env, rclone, args...) }

	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("bravo"), 0o644)
	big := make([]byte, 20<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(src, "big.bin"), big, 0o644)

	rc("mkdir", "sos:rclone-smoke")
	rc("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", src, "sos:rclone-smoke")
	out := rc("ls", "sos:rclone-smoke")
	for _, want := range []string{"a.txt", "sub/b.txt", "big.bin"} {
		if !strings.Contains(out, want) {
			t.Fatalf("rclone ls lacks %s:\n%s", want, out)
		}
	}
	rc("check", src, "sos:rclone-smoke")
	if got := rc("cat", "sos:rclone-smoke/sub/b.txt"); got != "bravo" {
		t.Fatalf("rclone cat = %q", got)
	}
	rc("delete", "sos:rclone-smoke/a.txt")
	if out := rc("ls", "sos:rclone-smoke"); strings.Contains(out, "a.txt") {
		t.Fatalf("deleted object still listed:\n%s", out)
	}
}

// TestAWSCLIOverTLS drives awscli against `sosd dev --tls`: the CA bundle
// the banner tells to export, given as --ca-bundle and as AWS_CA_BUNDLE,
// carries a multipart upload there and back; another CA, or none (the
// system roots), is refused.
func TestAWSCLIOverTLS(t *testing.T) {
	aws := requireTool(t, "/usr/bin/aws", "awscli")
	d := startDevTLS(t, t.TempDir())
	exportRE := regexp.MustCompile(`^\s*export AWS_CA_BUNDLE=(\S+) AWS_ACCESS_KEY_ID=` + rootKey + ` AWS_SECRET_ACCESS_KEY=` + rootSecret + `$`)
	var bundle string
	pollUntil(t, 5*time.Second, func() string {
		for _, l := range lines(d.output()) {
			if m := exportRE.FindStringSubmatch(l); m != nil {
				bundle = m[1]
				return ""
			}
		}
		return "sosd dev --tls printed no AWS_CA_BUNDLE export line:\n" + d.output()
	})
	if !strings.Contains(d.output(), "SOS_CA_BUNDLE="+bundle) {
		t.Errorf("the sos CLI's export line lacks SOS_CA_BUNDLE=%s:\n%s", bundle, d.output())
	}
	ep := "https://" + d.zones["ch-dk-2"]
	if !regexp.MustCompile(`(?m)^\s*zone ch-dk-2\s+S3: ` + regexp.QuoteMeta(ep) + `$`).MatchString(d.output()) {
		t.Errorf("the banner does not name %s:\n%s", ep, d.output())
	}
	env := cleanEnv("AWS_ACCESS_KEY_ID="+rootKey, "AWS_SECRET_ACCESS_KEY="+rootSecret,
		"AWS_DEFAULT_REGION=ch-dk-2", "AWS_MAX_ATTEMPTS=1", "HOME="+t.TempDir())
	s3 := func(args ...string) string {
		return run(t, env, aws, append([]string{"--ca-bundle", bundle, "--endpoint-url", ep}, args...)...)
	}

	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	data := make([]byte, 9<<20) // two parts of awscli's 8 MiB
	rand.Read(data)
	os.WriteFile(big, data, 0o644)
	s3("s3", "mb", "s3://tls-smoke")
	s3("s3", "cp", big, "s3://tls-smoke/big.bin")
	if out := s3("s3", "ls", "s3://tls-smoke"); !strings.Contains(out, "big.bin") || !strings.Contains(out, "9437184") {
		t.Fatalf("listing lacks big.bin:\n%s", out)
	}
	if out := s3("s3api", "head-object", "--bucket", "tls-smoke", "--key", "big.bin"); !strings.Contains(out, `-2\"`) {
		t.Fatalf("a 9 MiB upload in 8 MiB parts should have a 2-part ETag: %s", out)
	}
	got := filepath.Join(dir, "got.bin")
	s3("s3", "cp", "s3://tls-smoke/big.bin", got)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, data) {
		t.Fatal("the object read back over TLS differs")
	}
	// What the banner says to export works without --ca-bundle.
	if out := run(t, append(env, "AWS_CA_BUNDLE="+bundle), aws, "--endpoint-url", ep, "s3", "ls"); !strings.Contains(out, "tls-smoke") {
		t.Fatalf("s3 ls with AWS_CA_BUNDLE lacks the bucket:\n%s", out)
	}

	// Another CA, and the system roots, do not verify the zone.
	other, err := localca.New("another CA")
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "other-ca.pem")
	os.WriteFile(wrong, other.CertPEM, 0o644)
	for name, args := range map[string][]string{
		"another CA":       {"--ca-bundle", wrong},
		"the system roots": nil,
	} {
		out, err := runErr(env, aws, append(args, "--endpoint-url", ep, "s3", "ls", "s3://tls-smoke")...)
		if err == nil || !strings.Contains(out, "SSL validation failed") || !strings.Contains(out, "CERTIFICATE_VERIFY_FAILED") {
			t.Errorf("awscli trusting %s: %v, want SSL validation failed:\n%s", name, err, out)
		}
	}
}
