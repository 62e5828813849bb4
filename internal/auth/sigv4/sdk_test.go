package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

const (
	testZone      = "ch-dk-2"
	testAccessKey = "EXO0123456789abcdef"
	testSecret    = "s3cr3t/with+odd=chars"
	testToken     = "session-token-123"
)

// seen is what the verifying server saw of one request.
type seen struct {
	method, path string
	res          *Result
	err          error
	body         []byte
	readErr      error
	trailer      http.Header
}

// verifyServer is an HTTP(S) server that runs Verify on every request, reads
// the body to EOF and remembers the outcome.
type verifyServer struct {
	*httptest.Server
	mu   sync.Mutex
	last []seen
}

func newVerifyServer(t *testing.T, useTLS bool, keys Secrets) *verifyServer {
	t.Helper()
	vs := &verifyServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{method: r.Method, path: r.URL.Path}
		s.res, s.err = Verify(r.Context(), r, Options{Region: testZone, Secrets: keys})
		if s.err == nil {
			s.body, s.readErr = io.ReadAll(s.res.Body)
			s.trailer = s.res.Trailer()
		}
		vs.mu.Lock()
		vs.last = append(vs.last, s)
		vs.mu.Unlock()
		switch {
		case s.err != nil || s.readErr != nil:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>denied</Message></Error>`)
		case r.Method == http.MethodGet:
			io.WriteString(w, "hello")
		default:
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
			w.WriteHeader(http.StatusOK)
		}
	})
	if useTLS {
		vs.Server = httptest.NewTLSServer(h)
	} else {
		vs.Server = httptest.NewServer(h)
	}
	t.Cleanup(vs.Close)
	return vs
}

func (vs *verifyServer) take(t *testing.T) seen {
	t.Helper()
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if len(vs.last) == 0 {
		t.Fatal("the server saw no request")
	}
	s := vs.last[len(vs.last)-1]
	vs.last = nil
	return s
}

func testKeys() *keyring {
	return &keyring{
		secrets: map[string]string{testAccessKey: testSecret},
		tokens:  map[string]string{testAccessKey: testToken},
	}
}

var sdkCreds = aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: testToken}

// Keys that exercise the path encoding.
var awkwardKeys = []string{
	"plain.txt",
	"with space/and  two",
	"ünïcødé/ключ/日本語.txt",
	"a+b=c&d",
	"../up/./dot/../x",
	"~tilde-_.*'()!$,;:@",
	"percent%20literal%2F",
	"trailing/slash/",
	"semi;colon?question#hash",
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSDKSignedHeader signs requests with the AWS SDK's v4 signer (as its S3
// client does: path escaped once, not double-encoded) and verifies them with
// ours on a real HTTP server.
func TestSDKSignedHeader(t *testing.T) {
	vs := newVerifyServer(t, false, testKeys())
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	for _, key := range awkwardKeys {
		t.Run(key, func(t *testing.T) {
			body := []byte("payload of " + key)
			target := vs.URL + "/bucket/" + httpbinding.EscapePath(key, false) +
				"?x-id=PutObject&tagging&prefix=" + httpbinding.EscapePath("a b+c/", true)
			req, err := http.NewRequest(http.MethodPut, target, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Content-Sha256", hashHex(body))
			req.Header.Set("X-Amz-Meta-Note", "  spaced   out  value ")
			req.Header.Set("Content-Type", "text/plain")
			if err := signer.SignHTTP(context.Background(), sdkCreds, req, hashHex(body), "s3", testZone, time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			s := vs.take(t)
			if s.err != nil {
				var m *SignatureMismatchError
				if errors.As(s.err, &m) {
					t.Logf("canonical request:\n%s", m.CanonicalRequest)
				}
				t.Fatalf("Verify: %v", s.err)
			}
			if s.path != "/bucket/"+key {
				t.Fatalf("server path = %q", s.path)
			}
			if s.readErr != nil || !bytes.Equal(s.body, body) {
				t.Fatalf("body = %q, %v", s.body, s.readErr)
			}
			if s.res.AccessKey != testAccessKey || s.res.SessionToken != testToken {
				t.Fatalf("result = %+v", s.res)
			}
		})
	}
}

// TestSDKPresigned presigns with the SDK and verifies with ours.
func TestSDKPresigned(t *testing.T) {
	vs := newVerifyServer(t, false, testKeys())
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	for _, key := range awkwardKeys {
		t.Run(key, func(t *testing.T) {
			target := vs.URL + "/bucket/" + httpbinding.EscapePath(key, false) + "?versionId=v1%2B2&response-content-type=text%2Fplain"
			req, err := http.NewRequest(http.MethodGet, target, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Expires", "900")
			uri, hdr, err := signer.PresignHTTP(context.Background(), sdkCreds, req, UnsignedPayload, "s3", testZone, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			get, err := http.NewRequest(http.MethodGet, uri, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range hdr {
				if !strings.EqualFold(k, "host") {
					get.Header[k] = v
				}
			}
			resp, err := http.DefaultClient.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			s := vs.take(t)
			if s.err != nil {
				var m *SignatureMismatchError
				if errors.As(s.err, &m) {
					t.Logf("canonical request:\n%s", m.CanonicalRequest)
				}
				t.Fatalf("Verify %s: %v", uri, s.err)
			}
			if !s.res.Presigned || s.res.SessionToken != testToken {
				t.Fatalf("result = %+v", s.res)
			}
			if d := s.res.Expires.Sub(s.res.SignedAt); d != 900*time.Second {
				t.Fatalf("expires after %s, want 15m", d)
			}
		})
	}
}

func newS3Client(vs *verifyServer, region string, opts ...func(*s3.Options)) *s3.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(testAccessKey, testSecret, testToken),
		HTTPClient:  vs.Client(),
	}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(vs.URL)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	}}, opts...)...)
}

func crc32cBase64(b []byte) string {
	c := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	return base64.StdEncoding.EncodeToString([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
}

// TestSDKS3Client drives the real S3 client against a TLS server that
// verifies with ours: PutObject with a CRC32C checksum (sent as an
// aws-chunked body with a trailer), GetObject with Range, a presigned GET, a
// wrong region and an unknown key.
func TestSDKS3Client(t *testing.T) {
	ctx := context.Background()
	vs := newVerifyServer(t, true, testKeys())
	client := newS3Client(vs, testZone)
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160000 bytes: several chunks
	for _, key := range awkwardKeys {
		t.Run(key, func(t *testing.T) {
			// A reader that cannot seek makes the SDK stream aws-chunked
			// with a trailing checksum.
			_, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket:            aws.String("bucket"),
				Key:               aws.String(key),
				Body:              io.MultiReader(bytes.NewReader(data)),
				ContentLength:     aws.Int64(int64(len(data))),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
			})
			s := vs.take(t)
			if s.err != nil || s.readErr != nil {
				t.Fatalf("Verify: %v / read: %v", s.err, s.readErr)
			}
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			if s.path != "/bucket/"+key || !bytes.Equal(s.body, data) {
				t.Fatalf("path %q, %d bytes", s.path, len(s.body))
			}
			if s.res.ContentSHA256 != StreamingUnsignedTrailer {
				t.Fatalf("x-amz-content-sha256 = %q, want %s", s.res.ContentSHA256, StreamingUnsignedTrailer)
			}
			if got, want := s.trailer.Get("x-amz-checksum-crc32c"), crc32cBase64(data); got != want {
				t.Fatalf("trailer crc32c = %q, want %q (trailer %v)", got, want, s.trailer)
			}

			// A seekable body is sent with its hash or UNSIGNED-PAYLOAD.
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("bucket"), Key: aws.String(key), Body: bytes.NewReader(data[:100]),
			}); err != nil {
				t.Fatalf("PutObject seekable: %v (server: %v)", err, vs.take(t).err)
			}
			if s := vs.take(t); s.err != nil || s.readErr != nil || !bytes.Equal(s.body, data[:100]) {
				t.Fatalf("seekable put: %v / %v / %q", s.err, s.readErr, s.body)
			}

			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), Range: aws.String("bytes=0-4")})
			if err != nil {
				t.Fatalf("GetObject: %v (server: %v)", err, vs.take(t).err)
			}
			out.Body.Close()
			if s := vs.take(t); s.err != nil {
				t.Fatalf("GetObject verify: %v", s.err)
			}

			p, err := s3.NewPresignClient(client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)},
				s3.WithPresignExpires(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(p.Method, p.URL, nil)
			for k, v := range p.SignedHeader {
				if !strings.EqualFold(k, "host") {
					req.Header[k] = v
				}
			}
			resp, err := vs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if s := vs.take(t); s.err != nil || !s.res.Presigned {
				t.Fatalf("presigned GET %s: %v", p.URL, s.err)
			}
		})
	}

	t.Run("wrong region", func(t *testing.T) {
		_, err := newS3Client(vs, "us-east-1").HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k")})
		if err == nil {
			t.Fatal("HeadObject succeeded")
		}
		s := vs.take(t)
		var wr *WrongRegionError
		if !errors.As(s.err, &wr) || !errors.Is(s.err, ErrAuthorizationHeaderMalformed) || wr.Expected != testZone || wr.Region != "us-east-1" {
			t.Fatalf("err = %v", s.err)
		}
		if !strings.Contains(s.err.Error(), "expecting '"+testZone+"'") {
			t.Fatalf("message %q does not name the expected region", s.err)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		c := s3.NewFromConfig(aws.Config{
			Region: testZone, Credentials: credentials.NewStaticCredentialsProvider("NOPE", "x", ""), HTTPClient: vs.Client(),
		}, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(vs.URL)
			o.UsePathStyle = true
			o.RetryMaxAttempts = 1
		})
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k")}); err == nil {
			t.Fatal("HeadObject succeeded")
		}
		if s := vs.take(t); !errors.Is(s.err, ErrInvalidAccessKeyID) {
			t.Fatalf("err = %v, want ErrInvalidAccessKeyID", s.err)
		}
	})
	t.Run("wrong session token", func(t *testing.T) {
		c := s3.NewFromConfig(aws.Config{
			Region: testZone, Credentials: credentials.NewStaticCredentialsProvider(testAccessKey, testSecret, "stolen"), HTTPClient: vs.Client(),
		}, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(vs.URL)
			o.UsePathStyle = true
			o.RetryMaxAttempts = 1
		})
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k")}); err == nil {
			t.Fatal("HeadObject succeeded")
		}
		if s := vs.take(t); !errors.Is(s.err, ErrInvalidToken) {
			t.Fatalf("err = %v, want ErrInvalidToken", s.err)
		}
	})
}
