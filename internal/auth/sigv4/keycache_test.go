package sigv4

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
)

func TestVerifierRotatedSecret(t *testing.T) {
	var mu sync.Mutex
	secret := testSecret
	o := testOptions()
	o.Secrets = SecretsFunc(func(context.Context, string, string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return secret, nil
	})
	v := NewVerifier(o, 0)
	ctx := context.Background()
	signedWithOld := newSignedRequest(t, http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil, nil)
	for i := 0; i < 2; i++ { // the second time from the cache
		if _, err := v.Verify(ctx, signedWithOld); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	mu.Lock()
	secret = "rotated/" + testSecret
	mu.Unlock()
	_, err := v.Verify(ctx, signedWithOld)
	if !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("request signed with the rotated-out secret: got %v, want SignatureDoesNotMatch", err)
	}
	creds := testCreds
	creds.Secret = secret
	r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Sign(r, creds, testSignOptions("")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, r); err != nil {
		t.Fatalf("request signed with the new secret: %v", err)
	}
}

func TestVerifierMatchesVerify(t *testing.T) {
	v := NewVerifier(testOptions(), 0)
	ctx := context.Background()
	body := []byte("hello, world")
	for i := 0; i < 3; i++ {
		r := newSignedRequest(t, http.MethodPut, "http://127.0.0.1:9001/bucket/key", body, nil)
		res, err := v.Verify(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(res.Body)
		if err != nil || string(got) != string(body) {
			t.Fatalf("body %q, %v", got, err)
		}
		bad := newSignedRequest(t, http.MethodPut, "http://127.0.0.1:9001/bucket/key", body, nil)
		bad.URL.Path = "/bucket/other"
		if _, err := v.Verify(ctx, bad); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("tampered path: got %v, want SignatureDoesNotMatch", err)
		}
	}
}

func TestKeyCacheBounded(t *testing.T) {
	c := &keyCache{max: 4, m: map[keyCacheKey][32]byte{}}
	for i := 0; i < 50; i++ {
		secret := fmt.Sprintf("secret-%d", i%7)
		got := c.signingKey(secret, "20260301", "ch-dk-2", "s3")
		want := signingKey(secret, "20260301", "ch-dk-2", "s3")
		if string(got) != string(want) {
			t.Fatalf("key %d differs from the derived key", i)
		}
		if n := len(c.m); n > 4 {
			t.Fatalf("cache holds %d keys, bound is 4", n)
		}
	}
	if got, want := c.signingKey("a", "20260301", "ch-dk-2", "s3"), c.signingKey("a", "20260302", "ch-dk-2", "s3"); string(got) == string(want) {
		t.Fatal("different days share a key")
	}
}

// TestVerifierConcurrent has more keys in use than the cache holds, so
// that lookups, fills and evictions race.
func TestVerifierConcurrent(t *testing.T) {
	o := testOptions()
	o.Secrets = SecretsFunc(func(_ context.Context, ak, _ string) (string, error) { return "secret-of-" + ak, nil })
	v := NewVerifier(o, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				ak := fmt.Sprintf("AK%d", (g+i)%5)
				r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil)
				if err != nil {
					t.Error(err)
					return
				}
				if err := Sign(r, Credentials{AccessKey: ak, Secret: "secret-of-" + ak}, testSignOptions("")); err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify(ctx, r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkVerifierHeader(b *testing.B) {
	r := newSignedRequest(b, http.MethodGet, "http://127.0.0.1:9001/bucket/photos/2026/03/01/img%20001.jpg?versionId=abc",
		nil, map[string]string{"Range": "bytes=0-1023", "X-Amz-Meta-Trace": "x"})
	r.Body = nil
	o := testOptions()
	o.Secrets = SecretsFunc(func(context.Context, string, string) (string, error) { return testSecret, nil })
	v := NewVerifier(o, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.Verify(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			b.Fatal(err)
		}
	}
}
