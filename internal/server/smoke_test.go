package server_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
