package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add(exampleAuthz("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/b/k", nil)
	if err := Sign(r, testCreds, testSignOptions("")); err != nil {
		f.Fatal(err)
	}
	f.Add(r.Header.Get("Authorization"))
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/20260301/r/s3/aws4_request,SignedHeaders=HOST,Signature=" + strings.Repeat("A", 64))
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
	f.Add("AWS4-HMAC-SHA256 ,,,=,==")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		a, err := parseAuthorization(v)
		if err != nil {
			if !errors.Is(err, ErrAuthorizationHeaderMalformed) && !errors.Is(err, ErrUnsupportedAlgorithm) {
				t.Fatalf("parseAuthorization(%q): error %v wraps no sentinel", v, err)
			}
			return
		}
		if !isHexSHA256(a.Signature) || a.Signature != strings.ToLower(a.Signature) {
			t.Fatalf("accepted signature %q", a.Signature)
		}
		if a.Credential.AccessKey == "" || len(a.Credential.Day) != 8 || a.Credential.Region == "" {
			t.Fatalf("accepted credential %+v", a.Credential)
		}
		if !contains(a.SignedHeaders, "host") {
			t.Fatalf("accepted signed headers %v without host", a.SignedHeaders)
		}
	})
}

// fuzzSigner is a fixed signing chain for FuzzChunkedReader.
func fuzzSigner() *chunkSigner {
	day := testNow.Format(scopeDateFormat)
	return &chunkSigner{
		key:     signingKey(testSecret, day, testZone, "s3"),
		amzDate: testNow.Format(amzDateFormat),
		scope:   scope(day, testZone, "s3"),
		prev:    strings.Repeat("5e", 32),
	}
}

// fuzzModes: 0 signed, 1 signed with trailer, 2 unsigned with trailer.
func fuzzChunkedOptions(mode uint8) chunkedOptions {
	o := chunkedOptions{DecodedLength: -1}
	switch mode % 3 {
	case 0:
		o.Signer = fuzzSigner()
	case 1:
		o.Signer = fuzzSigner()
		o.Trailers = true
		o.DeclaredTrailers = []string{"x-amz-checksum-crc32c"}
	case 2:
		o.Trailers = true
	}
	return o
}

func FuzzChunkedReader(f *testing.F) {
	data := []byte(strings.Repeat("fuzzing aws-chunked ", 50))
	crc := [][2]string{{"x-amz-checksum-crc32c", crc32cBase64(data)}}
	f.Add(chunkEncoder{signer: fuzzSigner(), chunkSize: 256}.encode(data), uint8(0))
	f.Add(chunkEncoder{signer: fuzzSigner(), chunkSize: 300, trailers: crc}.encode(data), uint8(1))
	f.Add(chunkEncoder{chunkSize: 64, trailers: crc}.encode(data), uint8(2))
	f.Add(chunkEncoder{chunkSize: 64, trailers: [][2]string{}}.encode(nil), uint8(2))
	f.Add(chunkedExample(exampleChunkSigs)[:400], uint8(0))
	f.Add([]byte("ffffffffffffffff\r\n"), uint8(2))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		cr := newChunkedReader(io.NopCloser(bytes.NewReader(body)), fuzzChunkedOptions(mode))
		n, err := io.Copy(io.Discard, cr)
		if n > int64(len(body)) {
			t.Fatalf("decoded %d bytes out of a %d-byte body", n, len(body))
		}
		if err != nil && !knownChunkError(err) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if err == nil && cr.state != stDone {
			t.Fatalf("EOF before the body was verified")
		}
	})
}

func BenchmarkVerifyHeader(b *testing.B) {
	r := newSignedRequest(b, http.MethodGet, "http://127.0.0.1:9001/bucket/photos/2026/03/01/img%20001.jpg?versionId=abc",
		nil, map[string]string{"Range": "bytes=0-1023", "X-Amz-Meta-Trace": "x"})
	r.Body = nil
	o := testOptions()
	o.Secrets = SecretsFunc(func(context.Context, string, string) (string, error) { return testSecret, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := Verify(ctx, r, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedSigned(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	body := chunkEncoder{signer: fuzzSigner(), chunkSize: 64 << 10}.encode(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cr := newChunkedReader(io.NopCloser(bytes.NewReader(body)), chunkedOptions{Signer: fuzzSigner(), DecodedLength: -1})
		if _, err := io.Copy(io.Discard, cr); err != nil {
			b.Fatal(err)
		}
	}
}
