package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strings"
)

// dataIn is a request body to store.
type dataIn struct {
	body       io.Reader
	size       int64 // -1 when unknown
	contentMD5 []byte
	checksum   *Checksum
	trailer    func() (Checksum, bool)
	noInline   bool
}

// stored is where a body went: inline bytes or a blob.
type stored struct {
	inline    []byte
	blobID    string
	size      int64
	md5       [16]byte
	checksums map[string]string
}

func (d stored) etag() string { return fmt.Sprintf("%x", d.md5) }

func newChecksum(alg string) (hash.Hash, string, error) {
	switch a := strings.ToUpper(alg); a {
	case "CRC32":
		return crc32.NewIEEE(), a, nil
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), a, nil
	case "CRC64NVME":
		return crc64.New(crc64NVME), a, nil
	case "SHA1":
		return sha1.New(), a, nil
	case "SHA256":
		return sha256.New(), a, nil
	default:
		return nil, "", fmt.Errorf("%w: unsupported checksum algorithm %q", ErrInvalidArgument, alg)
	}
}

// crc64NVME is the CRC-64/NVME table (reflected polynomial).
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// countingReader hashes and counts what it reads and fails with a
// *TooLargeError past MaxPutSize bytes.
type countingReader struct {
	r  io.Reader
	n  int64
	hs []hash.Hash
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		for _, h := range c.hs {
			h.Write(p[:n])
		}
		c.n += int64(n)
		if c.n > MaxPutSize {
			return n, &TooLargeError{Size: -1}
		}
	}
	return n, err
}

// ingest stores a body: inline when it is small enough, as a blob
// otherwise, verifying the digests the client sent. On error nothing is
// left behind.
func (s *Service) ingest(ctx context.Context, in dataIn) (stored, error) {
	var out stored
	// The callers refused this already (checkPutSize before anything else,
	// checkCopySourceSize); a new caller that forgets is caught here.
	if err := checkPutSize(in.size, false); err != nil {
		return out, err
	}
	if in.contentMD5 != nil && len(in.contentMD5) != md5.Size {
		return out, fmt.Errorf("%w: Content-MD5 must be 16 bytes", ErrInvalidDigest)
	}
	mh := md5.New()
	cr := &countingReader{r: in.body, hs: []hash.Hash{mh}}
	var ckh hash.Hash
	var alg string
	var want []byte
	if in.checksum != nil {
		var err error
		if ckh, alg, err = newChecksum(in.checksum.Algorithm); err != nil {
			return out, err
		}
		if in.checksum.Value != "" {
			if want, err = decodeChecksum(alg, ckh, in.checksum.Value); err != nil {
				return out, err
			}
		}
		cr.hs = append(cr.hs, ckh)
	}

	inlineMax := int64(s.inlineMax)
	if in.noInline {
		inlineMax = -1
	}
	var head []byte
	inline := false
	switch {
	case inlineMax >= 0 && in.size >= 0 && in.size <= inlineMax:
		// Known small size: read exactly that into a buffer of that size,
		// then to EOF (where a signed body is verified).
		var err error
		if head, err = readSized(cr, in.size); err != nil {
			return out, err
		}
		inline = true
	case inlineMax >= 0 && in.size < 0:
		buf := bytes.NewBuffer(make([]byte, 0, inlineMax+1))
		if _, err := buf.ReadFrom(io.LimitReader(cr, inlineMax+1)); err != nil {
			return out, err
		}
		head = buf.Bytes()
		inline = int64(len(head)) <= inlineMax
	}
	if inline {
		if len(head) > 0 {
			out.inline = head
		}
		out.size = int64(len(head))
	} else {
		id, n, err := s.blobs.Put(ctx, io.MultiReader(bytes.NewReader(head), cr))
		if err != nil {
			return out, err
		}
		if n == 0 {
			s.dropBlobs(ctx, []string{id})
		} else {
			out.blobID = id
		}
		out.size = n
	}
	fail := func(err error) (stored, error) {
		if out.blobID != "" {
			s.dropBlobs(ctx, []string{out.blobID})
		}
		return stored{}, err
	}
	if in.size >= 0 && out.size != in.size {
		return fail(fmt.Errorf("%w: got %d of %d bytes", ErrIncompleteBody, out.size, in.size))
	}
	copy(out.md5[:], mh.Sum(nil))
	if in.contentMD5 != nil && !bytes.Equal(in.contentMD5, out.md5[:]) {
		return fail(fmt.Errorf("%w: the Content-MD5 you specified did not match what we received", ErrBadDigest))
	}
	if ckh != nil {
		got := ckh.Sum(nil)
		if want == nil && in.trailer != nil {
			if tc, ok := in.trailer(); ok {
				if !strings.EqualFold(tc.Algorithm, alg) {
					return fail(fmt.Errorf("%w: trailer checksum %s does not match the declared algorithm %s", ErrInvalidArgument, tc.Algorithm, alg))
				}
				var err error
				if want, err = decodeChecksum(alg, ckh, tc.Value); err != nil {
					return fail(err)
				}
			}
		}
		if want != nil && !bytes.Equal(want, got) {
			return fail(fmt.Errorf("%w: the %s checksum you specified did not match what we received", ErrBadDigest, alg))
		}
		out.checksums = map[string]string{alg: base64.StdEncoding.EncodeToString(got)}
	}
	return out, nil
}

// readSized reads a body declared to hold size bytes into a buffer of that
// size, then reads on to EOF. A shorter body is returned as it is; a longer
// one is counted to its end (bounded by the countingReader's max) and
// refused with ErrIncompleteBody.
func readSized(cr *countingReader, size int64) ([]byte, error) {
	head := make([]byte, size)
	n, err := io.ReadFull(cr, head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return head[:n], nil
	case err != nil:
		return nil, err
	}
	var probe [1]byte
	for {
		m, err := cr.Read(probe[:])
		if m > 0 {
			rest, err := io.Copy(io.Discard, cr)
			if err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: got %d of %d bytes", ErrIncompleteBody, size+int64(m)+rest, size)
		}
		if err == io.EOF {
			return head, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func decodeChecksum(alg string, h hash.Hash, v string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != h.Size() {
		return nil, fmt.Errorf("%w: value for x-amz-checksum-%s is invalid", ErrInvalidDigest, strings.ToLower(alg))
	}
	return b, nil
}
