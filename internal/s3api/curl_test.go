package s3api_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCurlAWSSigV4: Debian's curl 7.88 signs with --aws-sigv4 but sends no
// x-amz-content-sha256; sos verifies such a request against the hash of the
// body it carries (issue 11), for object data and for XML bodies, and
// refuses one whose signature does not match with the words of the
// signature check, not "Invalid request.".
func TestCurlAWSSigV4(t *testing.T) {
	const curl = "/usr/bin/curl"
	if _, err := os.Stat(curl); err != nil {
		if os.Getenv("SOS_REQUIRE_ALL") == "1" {
			t.Fatalf("%s is missing (Debian package curl) and SOS_REQUIRE_ALL=1", curl)
		}
		t.Skipf("%s is not installed (Debian package curl): skipping", curl)
	}
	e := newZoneEnv(t, zone, false)
	e.mkBucket("curled", true)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(secret string, args ...string) (string, string) {
		t.Helper()
		base := []string{"-sS", "--cacert", ca, "--aws-sigv4", "aws:amz:" + zone + ":s3", "--user", rootKey + ":" + secret,
			"-o", "-", "-w", "\n%{http_code}"}
		out, err := exec.Command(curl, append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		s := string(out)
		i := strings.LastIndexByte(s, '\n')
		return s[:i], s[i+1:]
	}
	data := bytes.Repeat([]byte("sixteen bytes..."), 70000) // 1.1 MB, more than one read
	file := filepath.Join(dir, "data")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}

	if body, code := run(rootSecret, "-T", file, e.srv.URL+"/curled/obj"); code != "200" {
		t.Fatalf("PUT -T: %s %s", code, body)
	}
	if body, code := run(rootSecret, e.srv.URL+"/curled/obj"); code != "200" || body != string(data) {
		t.Fatalf("GET: %s (%d bytes)", code, len(body))
	}
	// An XML body (the request is proven before DeleteObjects acts).
	// "?delete=": curl 7.88 signs a parameter without a value as
	// "delete" where SigV4 canonicalises "delete=", so a bare "?delete"
	// fails with any S3 server.
	del := `<Delete><Object><Key>obj</Key></Object><Quiet>true</Quiet></Delete>`
	sum := md5.Sum([]byte(del))
	if body, code := run(rootSecret, "-X", "POST", "-H", "Content-MD5: "+base64.StdEncoding.EncodeToString(sum[:]),
		"--data-binary", del, e.srv.URL+"/curled?delete="); code != "200" || strings.Contains(body, "<Error>") {
		t.Fatalf("POST ?delete: %s %s", code, body)
	}
	if _, code := run(rootSecret, "-I", e.srv.URL+"/curled/obj"); code != "404" {
		t.Fatalf("after DeleteObjects: HEAD %s, want 404", code)
	}

	// A wrong secret: refused at the body's end for a PUT (nothing
	// stored), at once for a GET, and a DeleteObjects does nothing.
	if body, code := run("wrong", "-T", file, e.srv.URL+"/curled/forged"); code != "403" || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("forged PUT: %s %s", code, body)
	}
	if _, code := run(rootSecret, "-I", e.srv.URL+"/curled/forged"); code != "404" {
		t.Fatalf("forged PUT stored something: HEAD %s", code)
	}
	if body, code := run("wrong", e.srv.URL+"/curled?list-type=2"); code != "403" || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("forged GET: %s %s", code, body)
	}
	run(rootSecret, "-T", file, e.srv.URL+"/curled/kept")
	if body, code := run("wrong", "-X", "POST", "-H", "Content-MD5: "+base64.StdEncoding.EncodeToString(sum[:]),
		"--data-binary", strings.Replace(del, "obj", "kept", 1), e.srv.URL+"/curled?delete="); code != "403" {
		t.Fatalf("forged DeleteObjects: %s %s", code, body)
	}
	if _, code := run(rootSecret, "-I", e.srv.URL+"/curled/kept"); code != "200" {
		t.Fatalf("a forged DeleteObjects deleted: HEAD %s", code)
	}
}

// TestRefusalsKeepTheirWords: a signature refusal whose S3 code is generic
// (InvalidRequest, AccessDenied) says what was wrong, not the code's
// standard message.
func TestRefusalsKeepTheirWords(t *testing.T) {
	e := newZoneEnv(t, zone, false)
	for _, c := range []struct {
		name string
		hdr  map[string]string
		code string
		want string
	}{
		{"SigV2", map[string]string{"Authorization": "AWS " + rootKey + ":c2lnbmF0dXJl"}, "InvalidRequest", "please use AWS4-HMAC-SHA256"},
		{"no date", map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=" + rootKey + "/20260101/" + zone + "/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64)}, "AccessDenied", "requires a valid Date or x-amz-date header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.raw("GET", "/", nil, c.hdr, "", "")
			if resp.StatusCode/100 != 4 || !bytes.Contains(body, []byte("<Code>"+c.code+"</Code>")) || !bytes.Contains(body, []byte(c.want)) {
				t.Fatalf("%d %s, want %s saying %q", resp.StatusCode, body, c.code, c.want)
			}
		})
	}
}
