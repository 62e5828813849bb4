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
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/object"
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

// A PUT (of an object or of a part) that declares more than one PUT may
// carry is refused before its body is read: the client sends a few bytes of
// its 5 GiB + 1 and waits, and gets EntityTooLarge with the sizes in the
// message, not a read timeout.
func TestDeclaredTooLargeRefusedBeforeBody(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("bigbkt", false)
	ctx := context.Background()
	mpu, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bigbkt"), Key: aws.String("parts")})
	if err != nil {
		t.Fatal(err)
	}
	const size = object.MaxPutSize + 1
	for _, c := range []struct{ path, want string }{
		{"/bigbkt/k", "Your proposed upload of 5368709121 bytes exceeds the 5368709120 bytes (5.0 GiB) allowed in one PUT: use a multipart upload."},
		{"/bigbkt/parts?partNumber=1&uploadId=" + *mpu.UploadId, "Your proposed part of 5368709121 bytes exceeds the 5368709120 bytes (5.0 GiB) allowed in one part."},
	} {
		req, err := http.NewRequest("PUT", e.srv.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req, "UNSIGNED-PAYLOAD", "s3", e.zone, time.Now()); err != nil {
			t.Fatal(err)
		}
		conn, err := tls.Dial("tcp", e.srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var sb strings.Builder
		fmt.Fprintf(&sb, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.Host, int64(size))
		req.Header.Write(&sb)
		sb.WriteString("\r\nhello")
		if _, err := io.WriteString(conn, sb.String()); err != nil {
			t.Fatal(err)
		}
		// Generous: the answer needs no more than the headers. Without it
		// the server would wait for the rest of the body.
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body: %v", c.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantRawError(t, resp, b, 400, "EntityTooLarge")
		if !strings.Contains(string(b), "<Message>"+c.want+"</Message>") {
			t.Errorf("%s: %s, want the message %q", c.path, b, c.want)
		}
	}
}
