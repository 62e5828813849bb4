package s3api_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// A PUT whose HTTP chunked transfer encoding is malformed is the client's
// fault: 400 IncompleteBody, not 500, and nothing is stored.
func TestMalformedTransferEncodingIsClientError(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("tebkt", false)
	for _, path := range []string{"/tebkt/k", "/tebkt/big"} {
		req, err := http.NewRequest("PUT", e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req, "UNSIGNED-PAYLOAD", "s3", e.zone, time.Now()); err != nil {
			t.Fatal(err)
		}
		conn, err := tls.Dial("tcp", e.srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var sb strings.Builder
		fmt.Fprintf(&sb, "PUT %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n", path, req.Host)
		req.Header.Write(&sb)
		sb.WriteString("\r\n")
		if path == "/tebkt/big" {
			chunk := strings.Repeat("x", 300<<10)
			fmt.Fprintf(&sb, "%x\r\n%s\r\n", len(chunk), chunk)
		}
		sb.WriteString("zz\r\nhello\r\n0\r\n\r\n")
		if _, err := io.WriteString(conn, sb.String()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantRawError(t, resp, b, 400, "IncompleteBody")
		key := strings.TrimPrefix(path, "/tebkt/")
		if _, _, err := e.get("tebkt", key, ""); err == nil {
			t.Fatalf("%s was stored", path)
		}
	}
}
