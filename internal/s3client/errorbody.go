package s3client

import (
	"bytes"
	"context"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The SDK reads only the code and message of an <Error> document. So that
// ErrorOf sees the other elements of an SDK call's error answer too (the
// region of a taken bucket name, what an access decision refused), two
// middlewares keep the document: one next to the transport buffers the body
// of an error answer (and hands the SDK's deserializer the same bytes), and
// one around the deserializers attaches the parsed document to the error as
// a *bodyError.

// maxErrorBody bounds the error document kept; S3 error documents are a few
// hundred bytes.
const maxErrorBody = 64 << 10

// bodyError is an SDK error with the <Error> document of its answer. It
// says and unwraps to the SDK's error unchanged.
type bodyError struct {
	err error
	doc errorDocument
}

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

type errorDocumentKey struct{}

// keepErrorDocuments adds the two middlewares to an operation's stack (a
// stack without a deserializer, such as a presigning one's, is left alone).
func keepErrorDocuments(stack *middleware.Stack) error {
	if _, ok := stack.Deserialize.Get("OperationDeserializer"); !ok {
		return nil
	}
	err := stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("sosErrorDocument",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if err != nil {
				if doc, ok := md.Get(errorDocumentKey{}).(errorDocument); ok {
					err = &bodyError{err: err, doc: doc}
				}
			}
			return out, md, err
		}), middleware.Before)
	if err != nil {
		return err
	}
	return stack.Deserialize.Insert(middleware.DeserializeMiddlewareFunc("sosErrorBody",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			res, ok := out.RawResponse.(*smithyhttp.Response)
			if err != nil || !ok || res.StatusCode < 300 || res.Body == nil {
				return out, md, err
			}
			data, rerr := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
			// The deserializer reads the same bytes, then whatever is
			// left (and meets the same read error, if any).
			res.Body = readCloser{io.MultiReader(bytes.NewReader(data), res.Body), res.Body}
			if rerr == nil {
				if doc, ok := parseErrorDocument(data); ok {
					md.Set(errorDocumentKey{}, doc)
				}
			}
			return out, md, err
		}), "OperationDeserializer", middleware.After)
}

type readCloser struct {
	io.Reader
	io.Closer
}
