package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chunkEncoder writes an aws-chunked body, the way clients do.
type chunkEncoder struct {
	signer    *chunkSigner // nil: unsigned chunks
	chunkSize int
	trailers  [][2]string // name, value
}

func (e chunkEncoder) encode(data []byte) []byte {
	var b bytes.Buffer
	for off := 0; ; {
		n := min(e.chunkSize, len(data)-off)
		chunk := data[off : off+n]
		fmt.Fprintf(&b, "%x", n)
		if e.signer != nil {
			h := sha256.Sum256(chunk)
			e.signer.prev = e.signer.chunkSignature(h[:])
			b.WriteString(";chunk-signature=" + e.signer.prev)
		}
		b.WriteString("\r\n")
		if n == 0 {
			break
		}
		b.Write(chunk)
		b.WriteString("\r\n")
		off += n
	}
	var canonical strings.Builder
	for _, tr := range e.trailers {
		b.WriteString(tr[0] + ":" + tr[1] + "\r\n")
		canonical.WriteString(tr[0] + ":" + tr[1] + "\n")
	}
	if e.signer != nil && e.trailers != nil {
		e.signer.prev = e.signer.trailerSignature(canonical.String())
		b.WriteString(trailerSignatureHeaderName + ":" + e.signer.prev + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testOptions() Options {
	return Options{Region: testZone, Now: func() time.Time { return testNow }, Secrets: testKeys()}
}

func testSignOptions(payload string) SignOptions {
	return SignOptions{Region: testZone, Now: func() time.Time { return testNow }, PayloadHash: payload}
}

var testCreds = Credentials{AccessKey: testAccessKey, Secret: testSecret, SessionToken: testToken}

// chunkedRequest builds a PUT whose body is data in aws-chunked encoding of
// the given mode, signed with Sign; the chunk signatures chain from its seed.
func chunkedRequest(t testing.TB, mode string, data []byte, chunkSize int, trailers [][2]string) (*http.Request, []byte) {
	t.Helper()
	r, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:9001/bucket/chunked%20object", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
	var names []string
	for _, tr := range trailers {
		names = append(names, tr[0])
	}
	if len(names) > 0 {
		r.Header.Set("X-Amz-Trailer", strings.Join(names, ","))
	}
	if err := Sign(r, testCreds, testSignOptions(mode)); err != nil {
		t.Fatal(err)
	}
	enc := chunkEncoder{chunkSize: chunkSize, trailers: trailers}
	if mode != StreamingUnsignedTrailer {
		a, err := parseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		day := testNow.Format(scopeDateFormat)
		enc.signer = &chunkSigner{
			key:     signingKey(testSecret, day, testZone, "s3"),
			amzDate: testNow.Format(amzDateFormat),
			scope:   scope(day, testZone, "s3"),
			prev:    a.Signature,
		}
	}
	body := enc.encode(data)
	setBody(r, body)
	return r, body
}

func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
}

// readChunked verifies r and reads its body.
func readChunked(r *http.Request) ([]byte, *Result, error) {
	res, err := Verify(context.Background(), r, testOptions())
	if err != nil {
		return nil, nil, err
	}
	got, err := io.ReadAll(res.Body)
	return got, res, err
}

var chunkModes = []struct {
	mode     string
	trailers [][2]string
}{
	{StreamingPayload, nil},
	{StreamingPayloadTrailer, [][2]string{{"x-amz-checksum-crc32c", ""}}},
	{StreamingUnsignedTrailer, [][2]string{{"x-amz-checksum-crc32c", ""}}},
}

func TestChunkedRoundTrip(t *testing.T) {
	for _, m := range chunkModes {
		for _, size := range []int{0, 1, 8191, 8192, 8193, 100000} {
			t.Run(fmt.Sprintf("%s/%d", m.mode, size), func(t *testing.T) {
				data := bytes.Repeat([]byte("xyz"), size)[:size]
				trailers := m.trailers
				if trailers != nil {
					trailers = [][2]string{{"x-amz-checksum-crc32c", crc32cBase64(data)}}
				}
				r, _ := chunkedRequest(t, m.mode, data, 8192, trailers)
				got, res, err := readChunked(r)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("decoded %d bytes, want %d", len(got), len(data))
				}
				if res.DecodedContentLength != int64(size) {
					t.Fatalf("DecodedContentLength = %d", res.DecodedContentLength)
				}
				if trailers != nil && res.Trailer().Get("x-amz-checksum-crc32c") != crc32cBase64(data) {
					t.Fatalf("trailer = %v", res.Trailer())
				}
				// Reading past EOF keeps returning EOF.
				if n, err := res.Body.Read(make([]byte, 10)); n != 0 || err != io.EOF {
					t.Fatalf("read after EOF = %d, %v", n, err)
				}
			})
		}
	}
}

// knownChunkError reports whether err is one of the errors a broken body
// may produce.
func knownChunkError(err error) bool {
	for _, s := range []error{ErrIncompleteBody, ErrMalformedChunk, ErrMalformedTrailer, ErrSignatureDoesNotMatch} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestChunkedTruncated(t *testing.T) {
	data := []byte(strings.Repeat("truncate me ", 9))
	for _, m := range chunkModes {
		t.Run(m.mode, func(t *testing.T) {
			trailers := m.trailers
			if trailers != nil {
				trailers = [][2]string{{"x-amz-checksum-crc32c", crc32cBase64(data)}}
			}
			r, body := chunkedRequest(t, m.mode, data, 40, trailers)
			for cut := 0; cut < len(body); cut++ {
				setBody(r, body[:cut])
				got, _, err := readChunked(r)
				if cut == len(body)-2 && err == nil && bytes.Equal(got, data) {
					continue // only the final empty line is missing: accepted
				}
				if !knownChunkError(err) {
					t.Fatalf("cut at %d of %d: err = %v, want an incomplete/malformed body error", cut, len(body), err)
				}
			}
		})
	}
}

func TestChunkedGarbled(t *testing.T) {
	data := []byte(strings.Repeat("garble me ", 9))
	for _, m := range chunkModes {
		t.Run(m.mode, func(t *testing.T) {
			trailers := m.trailers
			if trailers != nil {
				trailers = [][2]string{{"x-amz-checksum-crc32c", crc32cBase64(data)}}
			}
			r, body := chunkedRequest(t, m.mode, data, 40, trailers)
			for i := range body {
				bad := bytes.Clone(body)
				bad[i] ^= 0x01
				setBody(r, bad)
				got, _, err := readChunked(r)
				if m.mode == StreamingUnsignedTrailer {
					// Nothing signs the data; a change either breaks the
					// framing or shows in the decoded data or trailer.
					if err != nil && !knownChunkError(err) {
						t.Fatalf("flip at %d: unexpected error %v", i, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("flip at %d (%q) accepted, decoded %q", i, body[i], got)
				}
				if !knownChunkError(err) {
					t.Fatalf("flip at %d: err = %v", i, err)
				}
			}
		})
	}
}

func TestChunkedErrors(t *testing.T) {
	data := []byte("hello chunked world")
	cases := []struct {
		name   string
		mode   string
		edit   func(r *http.Request, body []byte) []byte
		target error
	}{
		{"decoded length too big", StreamingPayload, func(r *http.Request, b []byte) []byte {
			r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)+1))
			return b
		}, ErrSignatureDoesNotMatch}, // the header is signed
		{"chunk header too long", StreamingUnsignedTrailer, func(r *http.Request, b []byte) []byte {
			return append([]byte("1"+strings.Repeat(";x", 3000)+"\r\n"), b...)
		}, ErrMalformedChunk},
		{"size not hex", StreamingUnsignedTrailer, func(r *http.Request, b []byte) []byte {
			return append([]byte("zz\r\n"), b...)
		}, ErrMalformedChunk},
		{"size too large", StreamingUnsignedTrailer, func(r *http.Request, b []byte) []byte {
			return []byte("ffffffffffffffffff\r\n")
		}, ErrMalformedChunk},
		{"bare LF", StreamingUnsignedTrailer, func(r *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("\r\n"), []byte("\n"), 1)
		}, ErrMalformedChunk},
		{"undeclared trailer", StreamingUnsignedTrailer, func(r *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("x-amz-checksum-crc32c:"), []byte("x-amz-checksum-sha256:"), 1)
		}, ErrMalformedTrailer},
		{"trailer without colon", StreamingUnsignedTrailer, func(r *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("x-amz-checksum-crc32c:"), []byte("x-amz-checksum-crc32c="), 1)
		}, ErrMalformedTrailer},
		{"missing trailer signature", StreamingPayloadTrailer, func(r *http.Request, b []byte) []byte {
			i := bytes.Index(b, []byte(trailerSignatureHeaderName))
			return append(b[:i:i], "\r\n"...)
		}, ErrSignatureDoesNotMatch},
		{"data after final chunk", StreamingPayload, func(r *http.Request, b []byte) []byte {
			return append(b[:len(b)-2:len(b)-2], "junk\r\n"...)
		}, ErrMalformedChunk},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var trailers [][2]string
			if tc.mode != StreamingPayload {
				trailers = [][2]string{{"x-amz-checksum-crc32c", crc32cBase64(data)}}
			}
			r, body := chunkedRequest(t, tc.mode, data, 8, trailers)
			setBody(r, tc.edit(r, body))
			_, _, err := readChunked(r)
			if !errors.Is(err, tc.target) {
				t.Fatalf("err = %v, want %v", err, tc.target)
			}
		})
	}
}

func TestChunkedDecodedLengthChecked(t *testing.T) {
	data := []byte("0123456789")
	for _, declared := range []int{len(data) - 1, len(data) + 1} {
		r, _ := chunkedRequest(t, StreamingUnsignedTrailer, data, 4, [][2]string{{"x-amz-checksum-crc32c", crc32cBase64(data)}})
		r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(declared))
		// Re-sign: the header is signed.
		body := r.Body
		if err := Sign(r, testCreds, testSignOptions(StreamingUnsignedTrailer)); err != nil {
			t.Fatal(err)
		}
		r.Body = body
		if _, _, err := readChunked(r); !errors.Is(err, ErrIncompleteBody) && !errors.Is(err, ErrMalformedChunk) {
			t.Fatalf("declared %d for %d bytes: err = %v", declared, len(data), err)
		}
	}
}

func TestAnonymousUnsignedTrailer(t *testing.T) {
	data := []byte("anonymous upload")
	r, body := chunkedRequest(t, StreamingUnsignedTrailer, data, 5, [][2]string{{"x-amz-checksum-crc32c", crc32cBase64(data)}})
	r.Header.Del("Authorization")
	setBody(r, body)
	got, res, err := readChunked(r)
	if err != nil || !res.Anonymous || !bytes.Equal(got, data) {
		t.Fatalf("anonymous chunked: %q, %+v, %v", got, res, err)
	}
	// A signed streaming body cannot be anonymous.
	r, body = chunkedRequest(t, StreamingPayload, data, 5, nil)
	r.Header.Del("Authorization")
	setBody(r, body)
	if _, _, err := readChunked(r); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
		t.Fatalf("anonymous signed streaming: err = %v", err)
	}
}
