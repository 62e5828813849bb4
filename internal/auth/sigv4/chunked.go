package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Limits that keep the aws-chunked decoder's memory bounded.
const (
	maxChunkLine    = 4 << 10  // a chunk header or trailer line
	maxTrailerBytes = 16 << 10 // all trailer lines together
	maxTrailers     = 16
	maxChunkSizeHex = 15 // hex digits of a chunk size: < 2^60
)

// chunkSigner holds the chain of an aws-chunked signed body: the signing key,
// the request time and scope, and the previous signature (the seed signature
// of the request at first).
type chunkSigner struct {
	key     []byte
	amzDate string
	scope   string
	prev    string
}

// chunkSignature is the signature of a chunk whose data hashes to dataHash,
// chained to the previous signature.
func (s *chunkSigner) chunkSignature(dataHash []byte) string {
	return signString(s.key, chunkAlgorithm+"\n"+s.amzDate+"\n"+s.scope+"\n"+s.prev+"\n"+
		EmptySHA256+"\n"+hex.EncodeToString(dataHash))
}

// trailerSignature is the signature of the trailing headers, given in their
// canonical form ("name:value\n" each), chained to the final chunk's.
func (s *chunkSigner) trailerSignature(canonicalTrailers string) string {
	return signString(s.key, trailerAlgorithm+"\n"+s.amzDate+"\n"+s.scope+"\n"+s.prev+"\n"+
		hexSHA256([]byte(canonicalTrailers)))
}

type chunkedOptions struct {
	// Signer verifies chunk (and trailer) signatures; nil for the unsigned
	// variant.
	Signer *chunkSigner
	// Trailers is true when trailing headers follow the final chunk.
	Trailers bool
	// DeclaredTrailers lists the trailer names of x-amz-trailer (lower
	// case); when non-empty the body must carry exactly those.
	DeclaredTrailers []string
	// DecodedLength is x-amz-decoded-content-length, -1 when unknown.
	DecodedLength int64
}

type chunkState int

const (
	stHeader  chunkState = iota // expecting a chunk header line
	stData                      // inside chunk data
	stDataEnd                   // expecting the CRLF after chunk data
	stDone                      // everything read and verified
)

// chunkedReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n [trailers\r\n] \r\n
//
// verifying the chunk signatures, the trailer signature and the decoded
// length. Errors are sticky.
type chunkedReader struct {
	src  io.ReadCloser
	br   *bufio.Reader
	opts chunkedOptions

	state     chunkState
	remaining int64 // bytes left in the current chunk
	chunkSig  string
	chunks    int
	h         hash.Hash
	total     int64
	trailer   http.Header
	err       error
}

func newChunkedReader(src io.ReadCloser, opts chunkedOptions) *chunkedReader {
	c := &chunkedReader{src: src, br: bufio.NewReaderSize(src, 2*maxChunkLine), opts: opts}
	if opts.Signer != nil {
		c.h = sha256.New()
	}
	return c
}

func (c *chunkedReader) Close() error { return c.src.Close() }

func (c *chunkedReader) fail(err error) error {
	c.err = err
	return err
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for {
		switch c.state {
		case stDone:
			c.err = io.EOF
			return 0, io.EOF
		case stHeader:
			if err := c.readChunkHeader(); err != nil {
				return 0, c.fail(err)
			}
		case stDataEnd:
			if err := c.endChunk(); err != nil {
				return 0, c.fail(err)
			}
		case stData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > c.remaining {
				p = p[:c.remaining]
			}
			n, err := c.br.Read(p)
			if n > 0 {
				if c.h != nil {
					c.h.Write(p[:n])
				}
				c.remaining -= int64(n)
				c.total += int64(n)
				if c.remaining == 0 {
					c.state = stDataEnd
				}
				return n, nil
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return 0, c.fail(fmt.Errorf("%w: the body ended inside chunk %d, %d bytes short", ErrIncompleteBody, c.chunks, c.remaining))
			}
			if err != nil {
				return 0, c.fail(err)
			}
		}
	}
}

// readLine reads one CRLF-terminated line of at most maxChunkLine bytes and
// returns it without the CRLF. eofOK reports an io.EOF before any byte of the
// line as (“”, io.EOF) instead of an error of this package.
func (c *chunkedReader) readLine(what string, eofOK bool) (string, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxChunkLine:
		return "", fmt.Errorf("%w: %s is longer than %d bytes", ErrMalformedChunk, what, maxChunkLine)
	case err == io.EOF && len(line) == 0 && eofOK:
		return "", io.EOF
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return "", fmt.Errorf("%w: the body ended in the middle of %s", ErrIncompleteBody, what)
	case err != nil:
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("%w: %s does not end with CRLF", ErrMalformedChunk, what)
	}
	line = line[:len(line)-2]
	for _, b := range line {
		if b < 0x20 && b != '\t' || b == 0x7f {
			return "", fmt.Errorf("%w: %s contains a control character", ErrMalformedChunk, what)
		}
	}
	return string(line), nil
}

func (c *chunkedReader) readChunkHeader() error {
	what := fmt.Sprintf("the header of chunk %d", c.chunks+1)
	line, err := c.readLine(what, true)
	if err == io.EOF {
		return fmt.Errorf("%w: the body ended before the final zero-length chunk", ErrIncompleteBody)
	}
	if err != nil {
		return err
	}
	c.chunks++
	sizeStr, ext, _ := strings.Cut(line, ";")
	if sizeStr == "" || len(sizeStr) > maxChunkSizeHex {
		return fmt.Errorf("%w: %s has a bad size %q", ErrMalformedChunk, what, truncate(sizeStr, 20))
	}
	size, err := strconv.ParseUint(sizeStr, 16, 64)
	if err != nil {
		return fmt.Errorf("%w: %s has a bad size %q", ErrMalformedChunk, what, truncate(sizeStr, 20))
	}
	if c.opts.Signer != nil {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok || !isHexSHA256(sig) {
			return fmt.Errorf("%w: %s must be SIZE;chunk-signature=<64 hex digits>", ErrMalformedChunk, what)
		}
		c.chunkSig = strings.ToLower(sig)
	}
	if d := c.opts.DecodedLength; d >= 0 && c.total+int64(size) > d {
		return fmt.Errorf("%w: the chunks carry more than the %d bytes of x-amz-decoded-content-length", ErrMalformedChunk, d)
	}
	if size > 0 {
		c.remaining = int64(size)
		c.state = stData
		if c.h != nil {
			c.h.Reset()
		}
		return nil
	}
	return c.finish()
}

// endChunk consumes the CRLF after chunk data and verifies its signature.
func (c *chunkedReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: the body ended after the data of chunk %d", ErrIncompleteBody, c.chunks)
		}
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return fmt.Errorf("%w: the data of chunk %d is not followed by CRLF (wrong chunk size?)", ErrMalformedChunk, c.chunks)
	}
	if c.opts.Signer != nil {
		if err := c.verifyChunk(c.h.Sum(nil)); err != nil {
			return err
		}
	}
	c.state = stHeader
	return nil
}

func (c *chunkedReader) verifyChunk(dataHash []byte) error {
	s := c.opts.Signer
	if !equalSignature(s.chunkSignature(dataHash), c.chunkSig) {
		return fmt.Errorf("%w: the signature of chunk %d does not match", ErrSignatureDoesNotMatch, c.chunks)
	}
	s.prev = c.chunkSig
	return nil
}

// finish handles the final zero-length chunk and what follows it.
func (c *chunkedReader) finish() error {
	if c.opts.Signer != nil {
		if err := c.verifyChunk(sha256.New().Sum(nil)); err != nil {
			return err
		}
	}
	if d := c.opts.DecodedLength; d >= 0 && c.total != d {
		return fmt.Errorf("%w: the chunks carry %d bytes, x-amz-decoded-content-length says %d", ErrIncompleteBody, c.total, d)
	}
	if c.opts.Trailers {
		if err := c.readTrailers(); err != nil {
			return err
		}
	} else {
		line, err := c.readLine("the end of the body", true)
		if err != nil && err != io.EOF {
			return err
		}
		if line != "" {
			return fmt.Errorf("%w: unexpected data after the final chunk", ErrMalformedChunk)
		}
	}
	c.state = stDone
	return nil
}

func (c *chunkedReader) readTrailers() error {
	c.trailer = make(http.Header)
	var canonical strings.Builder
	var sig string
	size, count := 0, 0
	for {
		line, err := c.readLine("a trailer line", true)
		if err == io.EOF {
			// Some clients end the body right after the last trailer.
			break
		}
		if err != nil {
			if errors.Is(err, ErrMalformedChunk) {
				return fmt.Errorf("%w: %v", ErrMalformedTrailer, err)
			}
			return err
		}
		if line == "" {
			break
		}
		size += len(line)
		count++
		if size > maxTrailerBytes || count > maxTrailers {
			return fmt.Errorf("%w: more than %d trailers or %d bytes of them", ErrMalformedTrailer, maxTrailers, maxTrailerBytes)
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if !ok || name == "" {
			return fmt.Errorf("%w: trailer line %q is not name:value", ErrMalformedTrailer, truncate(line, 60))
		}
		if name == trailerSignatureHeaderName {
			if sig != "" {
				return fmt.Errorf("%w: %s given twice", ErrMalformedTrailer, trailerSignatureHeaderName)
			}
			if !isHexSHA256(value) {
				return fmt.Errorf("%w: %s must be 64 hex digits", ErrMalformedTrailer, trailerSignatureHeaderName)
			}
			sig = strings.ToLower(value)
			continue
		}
		if c.trailer.Get(name) != "" {
			return fmt.Errorf("%w: trailer %q given twice", ErrMalformedTrailer, name)
		}
		if len(c.opts.DeclaredTrailers) > 0 && !contains(c.opts.DeclaredTrailers, name) {
			return fmt.Errorf("%w: trailer %q is not announced in x-amz-trailer", ErrMalformedTrailer, name)
		}
		c.trailer.Set(name, value)
		canonical.WriteString(name + ":" + value + "\n")
	}
	for _, name := range c.opts.DeclaredTrailers {
		if c.trailer.Get(name) == "" {
			return fmt.Errorf("%w: x-amz-trailer announces %q but the body does not carry it", ErrMalformedTrailer, name)
		}
	}
	if s := c.opts.Signer; s != nil {
		if sig == "" {
			return fmt.Errorf("%w: the trailer has no %s", ErrSignatureDoesNotMatch, trailerSignatureHeaderName)
		}
		if !equalSignature(s.trailerSignature(canonical.String()), sig) {
			return fmt.Errorf("%w: the trailer signature does not match", ErrSignatureDoesNotMatch)
		}
		s.prev = sig
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
