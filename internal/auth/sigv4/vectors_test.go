package sigv4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The example credentials, time and bucket of the S3 SigV4 documentation
// ("Signature Calculations for the Authorization Header", "Authenticating
// Requests: Using Query Parameters", "Transferring Payload in Multiple
// Chunks").
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exampleRegion    = "us-east-1"
	exampleDate      = "20130524T000000Z"
)

var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// keyring is a Secrets over a map; it records the session tokens it is asked
// about and accepts only the tokens listed for a key.
type keyring struct {
	secrets map[string]string
	tokens  map[string]string // access key -> the only valid session token
	asked   []string
}

func (k *keyring) Secret(_ context.Context, accessKey, sessionToken string) (string, error) {
	k.asked = append(k.asked, accessKey+"|"+sessionToken)
	s, ok := k.secrets[accessKey]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrInvalidAccessKeyID, accessKey)
	}
	if sessionToken != k.tokens[accessKey] {
		return "", fmt.Errorf("%w: token for %q", ErrInvalidToken, accessKey)
	}
	return s, nil
}

func exampleKeys() *keyring {
	return &keyring{secrets: map[string]string{exampleAccessKey: exampleSecret}}
}

func exampleOptions(k Secrets) Options {
	return Options{Region: exampleRegion, Now: func() time.Time { return exampleTime }, Secrets: k}
}

func exampleAuthz(signedHeaders, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + exampleAccessKey + "/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
		signedHeaders + ",Signature=" + sig
}

func TestSigningKeyExample(t *testing.T) {
	// The scope and string to sign of the GET Object example; the signature
	// only comes out right if the derived key is right.
	sts := "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
		"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
	key := signingKey(exampleSecret, "20130524", "us-east-1", "s3")
	if got, want := signString(key, sts), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}

func TestAWSHeaderExamples(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		target  string
		headers map[string]string
		body    string
		signed  string
		sig     string
	}{
		{
			name:   "GET Object with Range",
			method: "GET", target: "/test.txt",
			headers: map[string]string{"Range": "bytes=0-9", "X-Amz-Content-Sha256": EmptySHA256, "X-Amz-Date": exampleDate},
			signed:  "host;range;x-amz-content-sha256;x-amz-date",
			sig:     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name:   "PUT Object",
			method: "PUT", target: "/test$file.text",
			headers: map[string]string{
				"Date":                 "Fri, 24 May 2013 00:00:00 GMT",
				"X-Amz-Date":           exampleDate,
				"X-Amz-Storage-Class":  "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
			},
			body:   "Welcome to Amazon S3.",
			signed: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			sig:    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name:   "GET Bucket Lifecycle",
			method: "GET", target: "/?lifecycle",
			headers: map[string]string{"X-Amz-Content-Sha256": EmptySHA256, "X-Amz-Date": exampleDate},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name:   "Get Bucket (List Objects)",
			method: "GET", target: "/?max-keys=2&prefix=J",
			headers: map[string]string{"X-Amz-Content-Sha256": EmptySHA256, "X-Amz-Date": exampleDate},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://examplebucket.s3.amazonaws.com"+tc.target, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			r.Header.Set("Authorization", exampleAuthz(tc.signed, tc.sig))
			res, err := Verify(context.Background(), r, exampleOptions(exampleKeys()))
			if err != nil {
				var m *SignatureMismatchError
				if errors.As(err, &m) {
					t.Logf("canonical request:\n%s\nstring to sign:\n%s", m.CanonicalRequest, m.StringToSign)
				}
				t.Fatalf("Verify: %v", err)
			}
			if res.Anonymous || res.AccessKey != exampleAccessKey || !res.SignedAt.Equal(exampleTime) {
				t.Fatalf("result = %+v", res)
			}
			got, err := io.ReadAll(res.Body)
			if err != nil || string(got) != tc.body {
				t.Fatalf("body = %q, %v; want %q", got, err, tc.body)
			}

			// One changed hex digit of the signature is refused.
			bad := tc.sig[:63] + string("01"[(tc.sig[63]-'0'+1)%2])
			r.Header.Set("Authorization", exampleAuthz(tc.signed, bad))
			if _, err := Verify(context.Background(), r, exampleOptions(exampleKeys())); !errors.Is(err, ErrSignatureDoesNotMatch) {
				t.Fatalf("tampered signature: err = %v, want ErrSignatureDoesNotMatch", err)
			}
		})
	}
}

func TestAWSPresignedExample(t *testing.T) {
	const target = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	r := httptest.NewRequest("GET", target, nil)
	o := exampleOptions(exampleKeys())
	res, err := Verify(context.Background(), r, o)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !res.Presigned || res.AccessKey != exampleAccessKey || !res.Expires.Equal(exampleTime.Add(24*time.Hour)) {
		t.Fatalf("result = %+v", res)
	}

	// Still valid one second before the end, expired one second after.
	o.Now = func() time.Time { return exampleTime.Add(24*time.Hour - time.Second) }
	if _, err := Verify(context.Background(), r, o); err != nil {
		t.Fatalf("Verify just before expiry: %v", err)
	}
	o.Now = func() time.Time { return exampleTime.Add(24*time.Hour + time.Second) }
	if _, err := Verify(context.Background(), r, o); !errors.Is(err, ErrRequestExpired) {
		t.Fatalf("Verify after expiry: err = %v, want ErrRequestExpired", err)
	}
	// Used long before its date.
	o.Now = func() time.Time { return exampleTime.Add(-time.Hour) }
	if _, err := Verify(context.Background(), r, o); !errors.Is(err, ErrRequestNotYetValid) {
		t.Fatalf("Verify before its date: err = %v, want ErrRequestNotYetValid", err)
	}
}

// chunkedExample builds the body of the chunked upload example: 65 KiB of
// 'a' in a 64 KiB chunk, a 1 KiB chunk and the final chunk.
func chunkedExample(sigs [3]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "10000;chunk-signature=%s\r\n", sigs[0])
	b.Write(bytes.Repeat([]byte("a"), 65536))
	fmt.Fprintf(&b, "\r\n400;chunk-signature=%s\r\n", sigs[1])
	b.Write(bytes.Repeat([]byte("a"), 1024))
	fmt.Fprintf(&b, "\r\n0;chunk-signature=%s\r\n\r\n", sigs[2])
	return b.Bytes()
}

var exampleChunkSigs = [3]string{
	"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
	"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
	"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
}

func chunkedExampleRequest(body []byte) *http.Request {
	r := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.Header.Set("X-Amz-Date", exampleDate)
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("Content-Length", "66824")
	r.Header.Set("Authorization", exampleAuthz(
		"content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
		"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"))
	return r
}

func TestAWSChunkedExample(t *testing.T) {
	body := chunkedExample(exampleChunkSigs)
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, the documentation says 66824", len(body))
	}
	r := chunkedExampleRequest(body)
	res, err := Verify(context.Background(), r, exampleOptions(exampleKeys()))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.DecodedContentLength != 66560 || res.ContentSHA256 != StreamingPayload {
		t.Fatalf("result = %+v", res)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes, not 66560 'a'", len(got))
	}

	// A wrong signature on any chunk is caught.
	for i := range exampleChunkSigs {
		sigs := exampleChunkSigs
		sigs[i] = strings.Repeat("0", 64)
		res, err := Verify(context.Background(), chunkedExampleRequest(chunkedExample(sigs)), exampleOptions(exampleKeys()))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if _, err := io.ReadAll(res.Body); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("chunk %d with a wrong signature: err = %v, want ErrSignatureDoesNotMatch", i+1, err)
		}
	}
	// Chunks in another order are caught: the signatures are chained.
	swapped := chunkedExample(exampleChunkSigs)
	copy(swapped[5:], []byte(";chunk-signature="+exampleChunkSigs[1]))
	res, err = Verify(context.Background(), chunkedExampleRequest(swapped), exampleOptions(exampleKeys()))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := io.ReadAll(res.Body); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("reordered signature: err = %v, want ErrSignatureDoesNotMatch", err)
	}
}

// The example of "Signature calculations for trailing headers": the same
// upload with STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER and a signed
// x-amz-checksum-crc32c trailer.
func trailerExampleRequest(chunkSigs [3]string, crc, trailerSig string) *http.Request {
	var b bytes.Buffer
	fmt.Fprintf(&b, "10000;chunk-signature=%s\r\n", chunkSigs[0])
	b.Write(bytes.Repeat([]byte("a"), 65536))
	fmt.Fprintf(&b, "\r\n400;chunk-signature=%s\r\n", chunkSigs[1])
	b.Write(bytes.Repeat([]byte("a"), 1024))
	fmt.Fprintf(&b, "\r\n0;chunk-signature=%s\r\n", chunkSigs[2])
	fmt.Fprintf(&b, "x-amz-checksum-crc32c:%s\r\nx-amz-trailer-signature:%s\r\n\r\n", crc, trailerSig)
	r := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", &b)
	r.Header.Set("X-Amz-Date", exampleDate)
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", StreamingPayloadTrailer)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	r.Header.Set("Authorization", exampleAuthz(
		"content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
		"106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"))
	return r
}

var (
	exampleTrailerChunkSigs = [3]string{
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	}
	exampleTrailerSig = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
)

func TestAWSChunkedTrailerExample(t *testing.T) {
	res, err := Verify(context.Background(), trailerExampleRequest(exampleTrailerChunkSigs, "sOO8/Q==", exampleTrailerSig), exampleOptions(exampleKeys()))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Trailer() != nil {
		t.Fatalf("trailer available before EOF")
	}
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(got) != 66560 || bytes.Count(got, []byte("a")) != 66560 {
		t.Fatalf("decoded %d bytes", len(got))
	}
	if v := res.Trailer().Get("X-Amz-Checksum-Crc32c"); v != "sOO8/Q==" {
		t.Fatalf("trailer crc32c = %q, want sOO8/Q==", v)
	}

	// A changed checksum breaks the trailer signature.
	res, err = Verify(context.Background(), trailerExampleRequest(exampleTrailerChunkSigs, "AAAAAA==", exampleTrailerSig), exampleOptions(exampleKeys()))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := io.ReadAll(res.Body); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("tampered trailer: err = %v, want ErrSignatureDoesNotMatch", err)
	}
}
