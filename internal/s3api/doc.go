// Package s3api is a zone's S3 HTTP handler: it routes a request through one
// operation table (method + subresource → operation name), authenticates it
// with SigV4, authorizes it through IAM by its kebab-case operation name,
// calls the object service, and writes S3 XML. Handlers return errors; one
// function maps domain errors to S3 error responses through one table.
//
// Callers building the http.Server should set MaxHeaderBytes to 64 KiB
// (RecommendedMaxHeaderBytes): S3 allows 8 KiB of headers, presigned URLs with
// session tokens and long keys need a few KiB more, and anything larger is
// answered by net/http with 431 before the handler runs.
package s3api
