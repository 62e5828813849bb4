package bounded

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Errors of DecodeXML and CheckJSONDepth. Every error about the document
// wraps exactly one of them; an error of the reader itself (a connection
// cut, a digest the reader found wrong) is returned as it is.
var (
	// ErrTooLarge: the body is longer than Limits.Bytes.
	ErrTooLarge = errors.New("the request body is too large")
	// ErrTooDeep: elements (or JSON objects and arrays) nest deeper than
	// allowed.
	ErrTooDeep = errors.New("the document nests too deeply")
	// ErrTooMany: the document has more elements and attributes than
	// Limits.Elements.
	ErrTooMany = errors.New("the document has too many elements")
	// ErrEmpty: the body holds no element at all (nothing, blanks or
	// comments only).
	ErrEmpty = errors.New("the request body is empty")
	// ErrMalformed: the body is not one well-formed document of the
	// expected shape (the decoder's own error follows).
	ErrMalformed = errors.New("the document is not well-formed")
)

// Limits bound one XML document. A zero field is not "unlimited": DecodeXML
// refuses a zero Limits, so that every caller chooses its numbers.
type Limits struct {
	// Bytes is the longest body accepted.
	Bytes int64
	// Depth is the deepest nesting of elements: 1 allows the root
	// element only.
	Depth int
	// Elements is the most start elements plus attributes in the whole
	// document.
	Elements int
}

// DecodeXML decodes the one XML document that r holds into v (as
// xml.Decoder.Decode does) and reads r to its end, within l. Only blanks,
// comments and processing instructions may follow the root element. r is
// read through a buffer and never held whole: a document that breaks a
// limit is refused where it breaks it.
func DecodeXML(r io.Reader, v any, l Limits) error {
	if l.Bytes <= 0 || l.Depth <= 0 || l.Elements <= 0 {
		return fmt.Errorf("bounded: DecodeXML needs positive limits, got %+v", l)
	}
	lr := &limitReader{r: r, left: l.Bytes, limit: l.Bytes}
	raw := xml.NewDecoder(lr)
	tr := &tokens{d: raw, l: l, lr: lr}
	dec := xml.NewTokenDecoder(tr)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) && tr.elements == 0 && tr.err == nil {
			if tr.text {
				return fmt.Errorf("%w: the body is text, not an XML element", ErrMalformed)
			}
			return fmt.Errorf("%w: an XML document is required", ErrEmpty)
		}
		return wrapDecodeError(err, tr)
	}
	// Read to the end: the body's digest and signature are verified there,
	// and nothing else may follow the document.
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return wrapDecodeError(err, tr)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("%w: a second element <%s> follows the document's root", ErrMalformed, t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text follows the document's root element", ErrMalformed)
			}
		}
	}
}

// wrapDecodeError makes sure an error of the decoder wraps one of the
// package's errors: a limit the token reader or the size reader hit, or
// else ErrMalformed.
func wrapDecodeError(err error, tr *tokens) error {
	if tr.err != nil {
		return tr.err
	}
	if tr.lr.err != nil {
		// The body's own read error (or ErrTooLarge), not the
		// document's fault: passed on as it is.
		return tr.lr.err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the document ends before its root element is closed", ErrMalformed)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: line %d: %s", ErrMalformed, se.Line, se.Msg)
	}
	var ue xml.UnmarshalError
	if errors.As(err, &ue) {
		return fmt.Errorf("%w: %s", ErrMalformed, string(ue))
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

// tokens hands the raw tokens of d to the decoding Decoder, counting depth
// and elements, and fails at the first token past a limit.
type tokens struct {
	d        *xml.Decoder
	lr       *limitReader
	l        Limits
	depth    int
	elements int
	// text: non-blank text outside any element was seen.
	text bool
	// err is the first limit error, kept because xml.Decoder may word
	// it differently.
	err error
}

func (t *tokens) Token() (xml.Token, error) {
	if t.err != nil {
		return nil, t.err
	}
	// RawToken: the decoding Decoder translates name spaces and checks
	// that end elements match; doing it here too would do it twice.
	tok, err := t.d.RawToken()
	if err != nil {
		return nil, err
	}
	switch e := tok.(type) {
	case xml.StartElement:
		t.depth++
		t.elements += 1 + len(e.Attr)
		switch {
		case t.depth > t.l.Depth:
			t.err = fmt.Errorf("%w: elements nest more than %d levels deep", ErrTooDeep, t.l.Depth)
		case t.elements > t.l.Elements:
			t.err = fmt.Errorf("%w: more than %d elements and attributes", ErrTooMany, t.l.Elements)
		}
		if t.err != nil {
			return nil, t.err
		}
	case xml.EndElement:
		t.depth--
	case xml.CharData:
		// RawToken's CharData is valid until the next call only, as
		// Token's; the decoding Decoder copies what it keeps.
		if t.depth == 0 && len(bytes.TrimSpace(e)) > 0 {
			t.text = true
		}
	}
	return tok, nil
}

// limitReader fails with ErrTooLarge once more than limit bytes arrive,
// and keeps the first error other than io.EOF.
type limitReader struct {
	r     io.Reader
	left  int64
	limit int64
	err   error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.read(p)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

func (l *limitReader) read(p []byte) (int, error) {
	// Ask for one byte more than allowed, to tell "exactly the limit"
	// from "over it".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.limit)
	}
	return n, err
}
