package s3api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"sos/internal/s3api"
)

func hmacSHA(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signedChunkedPut sends data as STREAMING-AWS4-HMAC-SHA256-PAYLOAD in
// chunks of chunkSize, each chunk signed; tamper flips a byte of chunk 2.
func (e *env) signedChunkedPut(path string, data []byte, chunkSize int, tamper bool) (*http.Response, []byte) {
	e.t.Helper()
	now := time.Now().UTC()
	req, _ := http.NewRequest("PUT", e.srv.URL+path, nil)
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
	// Content-Length must be known before signing: compute the framing size.
	sigLen := len(";chunk-signature=") + 64 + 2
	total := 0
	for off := 0; ; off += chunkSize {
		n := max(0, min(chunkSize, len(data)-off))
		total += len(strconv.FormatInt(int64(n), 16)) + sigLen + n + 2
		if n == 0 {
			break
		}
	}
	req.ContentLength = int64(total)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret},
		req, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", zone, now); err != nil {
		e.t.Fatal(err)
	}
	authz := req.Header.Get("Authorization")
	prev := authz[strings.LastIndex(authz, "Signature=")+len("Signature="):]
	day := now.Format("20060102")
	key := hmacSHA(hmacSHA(hmacSHA(hmacSHA([]byte("AWS4"+rootSecret), day), zone), "s3"), "aws4_request")
	scope := day + "/" + zone + "/s3/aws4_request"
	var body bytes.Buffer
	for off, i := 0, 0; ; off, i = off+chunkSize, i+1 {
		n := max(0, min(chunkSize, len(data)-off))
		chunk := data[min(off, len(data)) : min(off, len(data))+n]
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + req.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + prev + "\n" + hexSHA(nil) + "\n" + hexSHA(chunk)
		sig := hex.EncodeToString(hmacSHA(key, sts))
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", n, sig)
		if tamper && i == 1 {
			chunk = append([]byte{chunk[0] ^ 1}, chunk[1:]...)
		}
		body.Write(chunk)
		body.WriteString("\r\n")
		prev = sig
		if n == 0 {
			break
		}
	}
	if body.Len() != total {
		e.t.Fatalf("framing size %d, announced %d", body.Len(), total)
	}
	req.Body = io.NopCloser(&body)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestSignedChunkedUpload(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("signed", false)
	data := bytes.Repeat([]byte("signed chunks "), 20000)
	resp, body := e.signedChunkedPut("/signed/obj", data, 64<<10, false)
	if resp.StatusCode != 200 {
		t.Fatalf("signed chunked put: %d %s", resp.StatusCode, body)
	}
	got, g, err := e.get("signed", "obj", "")
	if err != nil || got != string(data) || aws.ToString(g.ContentEncoding) != "" {
		t.Fatalf("read back: %v, %d bytes", err, len(got))
	}
	resp, body = e.signedChunkedPut("/signed/bad", data, 64<<10, true)
	wantRawError(t, resp, body, 403, "SignatureDoesNotMatch")
	_, _, err = e.get("signed", "bad", "")
	wantCode(t, err, "NoSuchKey")
}

// panicky panics on every call (its Objects is nil): the handler must turn
// that into InternalError.
type panicky struct{ s3api.Objects }

func TestPanicBecomesInternalError(t *testing.T) {
	e := newEnv(t, false)
	h := s3api.New(s3api.Options{Zone: zone, Objects: panicky{}, Auth: e.authz, Logger: e.logger})
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("X-Amz-Content-Sha256", hexSHA(nil))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req, hexSHA(nil), "s3", zone, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantRawError(t, resp, b, 500, "InternalError")
}
