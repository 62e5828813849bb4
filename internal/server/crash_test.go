package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// newS3 is an S3 client for a zone (explicit configuration: the
// environment's AWS_* settings are ignored), without retries, with the
// SDK's checksums.
func newS3(endpoint, region, key, secret string) *s3.Client {
	return newS3Session(endpoint, region, key, secret, "")
}

// TestKill9KeepsAcknowledgedWrites kills a `sosd dev` with SIGKILL in the
// middle of a stream of concurrent PUTs (small inline objects and larger
// blob-backed ones), restarts it on the same data folder, and reads every
// acknowledged object back byte for byte.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("slow crash test: skipped with -short")
	}
	ctx := context.Background()
	data := t.TempDir()
	d := startDev(t, data)
	ep := "http://" + d.zones["ch-dk-2"]
	c := newS3(ep, "ch-dk-2", rootKey, rootSecret)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}

	for round := 0; round < 3; round++ {
		var (
			mu    sync.Mutex
			acked = map[string][32]byte{}
			wg    sync.WaitGroup
			stop  = make(chan struct{})
		)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					size := 1 + rng.IntN(4<<10)
					if i%4 == 0 {
						size = 100<<10 + rng.IntN(200<<10) // above the inline limit: a blob
					}
					body := make([]byte, size)
					for j := range body {
						body[j] = byte(rng.Uint32())
					}
					key := fmt.Sprintf("r%d/w%02d/%05d", round, w, i)
					_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("crash"), Key: aws.String(key), Body: bytes.NewReader(body)})
					if err != nil {
						return // the server died under us: unacknowledged
					}
					mu.Lock()
					acked[key] = sha256.Sum256(body)
					mu.Unlock()
				}
			}()
		}
		// Kill once a few hundred writes are acknowledged.
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= 200+100*round || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		d.kill(syscall.SIGKILL)
		close(stop)
		wg.Wait()
		if len(acked) == 0 {
			t.Fatal("no PUT was acknowledged before the kill")
		}

		d.start(t)
		for key, sum := range acked {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("crash"), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("round %d: acknowledged %s is lost after kill -9: %v", round, key, err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || sha256.Sum256(got) != sum {
				t.Fatalf("round %d: acknowledged %s reads back different after kill -9 (%v)", round, key, err)
			}
		}
		t.Logf("round %d: %d acknowledged objects all intact after SIGKILL", round, len(acked))
	}
}
