package s3api_test

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"strconv"
	"testing"
	"time"

	"sos/internal/iam"
	"sos/internal/versionid"
)

// TestReplicaPartsHeaders sends replica writes with hostile or inconsistent
// X-Sos-Replica-Parts-Count headers: each gets a 400 with the reason, and a
// replica upload completes only from its source's parts.
func TestReplicaPartsHeaders(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("dst", true)
	tc := iam.IssueTempCredentials(e.tempKey, "", replRole, time.Now(), time.Hour)
	other := versionid.New("at-vie-1", nil)
	hdr := func(parts, etag string) map[string]string {
		h := map[string]string{
			"X-Amz-Security-Token":        tc.SessionToken,
			"X-Sos-Replica-Version-Id":    versionid.Format(other.Now()),
			"X-Sos-Replica-Last-Modified": time.Now().UTC().Format(time.RFC3339Nano),
			"X-Sos-Replica-Parts-Count":   parts,
		}
		if etag != "" {
			h["X-Sos-Replica-Etag"] = etag
		}
		return h
	}
	send := func(method, path string, body []byte, h map[string]string) (int, []byte) {
		t.Helper()
		resp, b := e.raw(method, path, body, h, tc.AccessKey, tc.Secret)
		return resp.StatusCode, b
	}
	for _, v := range []string{"abc", "-1", "10001", "99999999999999999999999", "0x3", "3,4"} {
		resp, body := e.raw("PUT", "/dst/k", []byte("x"), hdr(v, ""), tc.AccessKey, tc.Secret)
		wantRawError(t, resp, body, 400, "InvalidArgument")
		resp, body = e.raw("POST", "/dst/k?uploads", nil, hdr(v, ""), tc.AccessKey, tc.Secret)
		wantRawError(t, resp, body, 400, "InvalidArgument")
	}
	// One PUT cannot carry the parts of a multipart source.
	resp, body := e.raw("PUT", "/dst/k", []byte("whole"), hdr("3", "0123456789abcdef0123456789abcdef-3"), tc.AccessKey, tc.Secret)
	wantRawError(t, resp, body, 400, "InvalidArgument")
	if !bytes.Contains(body, []byte("multipart upload of its source")) {
		t.Errorf("reason: %s", body)
	}

	// A replica upload of a 2-part source: parts of 5 MiB and 3 bytes.
	p1, p2 := bytes.Repeat([]byte("a"), 5<<20), []byte("end")
	s1, s2 := md5.Sum(p1), md5.Sum(p2)
	sum := md5.Sum(append(s1[:], s2[:]...))
	etag := fmt.Sprintf("%x-2", sum)
	st, b := send("POST", "/dst/mp?uploads", nil, hdr("2", etag))
	if st != 200 {
		t.Fatalf("create: %d %s", st, b)
	}
	id := between(b, "<UploadId>", "</UploadId>")
	for n, p := range [][]byte{p1, p2, []byte("other")} {
		if st, b := send("PUT", "/dst/mp?partNumber="+strconv.Itoa(n+1)+"&uploadId="+id, p, map[string]string{"X-Amz-Security-Token": tc.SessionToken}); st != 200 {
			t.Fatalf("part %d: %d %s", n+1, st, b)
		}
	}
	part := func(n int, data []byte) string {
		s := md5.Sum(data)
		return fmt.Sprintf(`<Part><PartNumber>%d</PartNumber><ETag>"%x"</ETag></Part>`, n, s)
	}
	complete := func(parts string) (int, []byte) {
		return send("POST", "/dst/mp?uploadId="+id, []byte("<CompleteMultipartUpload>"+parts+"</CompleteMultipartUpload>"),
			map[string]string{"X-Amz-Security-Token": tc.SessionToken})
	}
	st, b = complete(part(1, p1))
	if st != 400 || !bytes.Contains(b, []byte("<Code>InvalidPart</Code>")) || !bytes.Contains(b, []byte("source has 2 parts")) {
		t.Fatalf("completion with 1 of 2 parts: %d %s", st, b)
	}
	st, b = complete(part(1, p1) + part(3, []byte("other")))
	if st != 400 || !bytes.Contains(b, []byte("<Code>InvalidPart</Code>")) || !bytes.Contains(b, []byte(etag)) {
		t.Fatalf("completion with another part 2: %d %s", st, b)
	}
	st, b = complete(part(1, p1) + part(2, p2))
	if st != 200 {
		t.Fatalf("completion: %d %s", st, b)
	}
	_, g, err := e.get("dst", "mp", "")
	if err != nil || *g.ETag != `"`+etag+`"` {
		t.Fatalf("replica: %v %v", err, g)
	}
	// GetObjectAttributes of the replica tells the source's parts.
	resp, body = e.rootRaw("GET", "/dst/mp?attributes", nil, map[string]string{"X-Amz-Object-Attributes": "ETag,ObjectParts,ObjectSize"})
	want := fmt.Sprintf("<ETag>%s</ETag><ObjectParts><IsTruncated>false</IsTruncated><MaxParts>1000</MaxParts><NextPartNumberMarker>2</NextPartNumberMarker>"+
		"<PartNumberMarker>0</PartNumberMarker><Part><PartNumber>1</PartNumber><Size>%d</Size></Part><Part><PartNumber>2</PartNumber><Size>3</Size></Part>"+
		"<PartsCount>2</PartsCount></ObjectParts><ObjectSize>%d</ObjectSize>", etag, 5<<20, 5<<20+3)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(want)) {
		t.Fatalf("attributes of the replica: %d %s\nwant %s", resp.StatusCode, body, want)
	}
}

func between(b []byte, start, end string) string {
	_, rest, _ := bytes.Cut(b, []byte(start))
	v, _, _ := bytes.Cut(rest, []byte(end))
	return string(v)
}
