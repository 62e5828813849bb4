package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
)

// hashReader passes a body through and fails the final Read with
// ErrContentSHA256Mismatch when its SHA-256 differs from the declared one.
type hashReader struct {
	src  io.ReadCloser
	h    hash.Hash
	want string // lower-case hex
	err  error  // sticky: io.EOF or the mismatch
}

func newHashReader(src io.ReadCloser, want string) *hashReader {
	return &hashReader{src: src, h: sha256.New(), want: strings.ToLower(want)}
}

func (r *hashReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.src.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want {
			r.err = fmt.Errorf("%w: declared %s, body hashes to %s", ErrContentSHA256Mismatch, r.want, got)
		} else {
			r.err = io.EOF
		}
		if n > 0 {
			return n, nil
		}
		return 0, r.err
	}
	return n, err
}

func (r *hashReader) Close() error { return r.src.Close() }

// eofSignatureReader hashes the body and, at its end, checks the request's
// signature over that hash (see verifyAtEOF).
type eofSignatureReader struct {
	src   io.ReadCloser
	h     hash.Hash
	check func(payload string) error
	err   error
}

func (r *eofSignatureReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.src.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF {
		r.err = io.EOF
		if cerr := r.check(hex.EncodeToString(r.h.Sum(nil))); cerr != nil {
			r.err = cerr
		}
		if n > 0 {
			return n, nil
		}
		return 0, r.err
	}
	return n, err
}

func (r *eofSignatureReader) Close() error { return r.src.Close() }
