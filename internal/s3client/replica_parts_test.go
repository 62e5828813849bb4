package s3client_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sos/internal/s3client"
)

// TestPutMultipartInTheSourcesParts checks that a replica of a multipart
// source goes in the source's parts (from a stream or an io.ReaderAt), and
// that a layout that does not add up is refused before anything is sent.
func TestPutMultipartInTheSourcesParts(t *testing.T) {
	zone := &fakeZone{status: http.StatusOK}
	srv := httptest.NewServer(zone)
	defer srv.Close()
	ctx := t.Context()
	p := s3client.NewReplicas(s3client.Config{Endpoint: srv.URL, Region: "at-vie-1", HTTPClient: srv.Client()}, 5*time.Second)
	creds := s3client.Credentials{AccessKey: "SOSTMPkey", Secret: "s", SessionToken: "tok", Expires: time.Now().Add(time.Hour)}
	r := s3client.Replica{Bucket: "dst", Key: "mp", VersionID: "v1", LastModified: time.Now(), ETag: "abc-3", PartsCount: 3,
		PartSizes: []int64{5, 4, 3}, Size: 12}
	data := []byte("0123456789ab")
	for _, body := range []io.Reader{bytes.NewReader(data), io.MultiReader(bytes.NewReader(data))} {
		zone.mu.Lock()
		zone.got = nil
		zone.mu.Unlock()
		// The part size given is for objects without parts: unused here.
		if err := p.PutMultipart(ctx, creds, r, body, 10); err != nil {
			t.Fatal(err)
		}
		got := zone.requests()
		if len(got) != 5 {
			t.Fatalf("%d requests, want create, 3 parts, complete", len(got))
		}
		if got[0].header.Get(s3client.HeaderReplicaPartsCount) != "3" {
			t.Errorf("create: %s = %q", s3client.HeaderReplicaPartsCount, got[0].header.Get(s3client.HeaderReplicaPartsCount))
		}
		if string(got[1].body) != "01234" || string(got[2].body) != "5678" || string(got[3].body) != "9ab" {
			t.Errorf("%T: parts %q %q %q, want the source's 5, 4 and 3 bytes", body, got[1].body, got[2].body, got[3].body)
		}
		for i, n := range []string{"1", "2", "3"} {
			if !strings.Contains(got[i+1].query, "partNumber="+n) {
				t.Errorf("part %s sent as %s", n, got[i+1].query)
			}
		}
	}
	zone.mu.Lock()
	zone.got = nil
	zone.mu.Unlock()
	for _, bad := range []s3client.Replica{
		{Bucket: "dst", Key: "mp", VersionID: "v1", PartsCount: 3, PartSizes: []int64{5, 4, 2}, Size: 12},
		{Bucket: "dst", Key: "mp", VersionID: "v1", PartsCount: 2, PartSizes: []int64{5, 4, 3}, Size: 12},
		{Bucket: "dst", Key: "mp", VersionID: "v1", PartsCount: 0, PartSizes: []int64{5, 4, 3}, Size: 12},
	} {
		if err := p.PutMultipart(ctx, creds, bad, bytes.NewReader(data), 10); err == nil {
			t.Errorf("layout %v of %d parts for %d bytes accepted", bad.PartSizes, bad.PartsCount, bad.Size)
		}
	}
	if n := len(zone.requests()); n != 0 {
		t.Errorf("%d requests sent for layouts that do not add up", n)
	}
}
