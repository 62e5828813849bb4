package sigv4

import (
	"errors"
	"fmt"
)

// Sentinel errors. Each is named after the S3 error code it maps to; the
// comment gives the code and HTTP status S3 answers with. Errors returned by
// this package wrap exactly one of them (match with errors.Is) and carry a
// message a person understands.
var (
	// ErrInvalidAccessKeyID: InvalidAccessKeyId, 403. Secrets MUST return an
	// error wrapping it for an unknown access key.
	ErrInvalidAccessKeyID = errors.New("the AWS access key ID you provided does not exist in our records")
	// ErrInvalidToken: InvalidToken, 400. Secrets returns it for a session
	// token that is malformed or does not belong to the access key.
	ErrInvalidToken = errors.New("the provided token is malformed or otherwise invalid")
	// ErrExpiredToken: ExpiredToken, 400. Secrets returns it for a session
	// token that has expired.
	ErrExpiredToken = errors.New("the provided token has expired")
	// ErrSignatureDoesNotMatch: SignatureDoesNotMatch, 403.
	ErrSignatureDoesNotMatch = errors.New("the request signature we calculated does not match the signature you provided; check your key and signing method")
	// ErrAuthorizationHeaderMalformed: AuthorizationHeaderMalformed, 400.
	ErrAuthorizationHeaderMalformed = errors.New("the authorization header is malformed")
	// ErrAuthorizationQueryParametersError: AuthorizationQueryParametersError, 400.
	ErrAuthorizationQueryParametersError = errors.New("the authorization query parameters are malformed")
	// ErrUnsupportedAlgorithm: InvalidRequest, 400 ("Please use AWS4-HMAC-SHA256").
	// Returned for Signature Version 2, SigV4a and unknown schemes.
	ErrUnsupportedAlgorithm = errors.New("the authorization mechanism you have provided is not supported; please use AWS4-HMAC-SHA256")
	// ErrRequestTimeTooSkewed: RequestTimeTooSkewed, 403.
	ErrRequestTimeTooSkewed = errors.New("the difference between the request time and the current time is too large")
	// ErrRequestExpired: AccessDenied, 403, message "Request has expired"
	// (a presigned URL used after X-Amz-Date + X-Amz-Expires).
	ErrRequestExpired = errors.New("request has expired")
	// ErrRequestNotYetValid: AccessDenied, 403, message "Request is not valid
	// yet" (a presigned URL dated in the future).
	ErrRequestNotYetValid = errors.New("request is not valid yet")
	// ErrMissingDateHeader: AccessDenied, 403 ("AWS authentication requires a
	// valid Date or x-amz-date header").
	ErrMissingDateHeader = errors.New("AWS authentication requires a valid Date or x-amz-date header")
	// ErrUnsignedHeaders: AccessDenied, 403 ("There were headers present in
	// the request which were not signed").
	ErrUnsignedHeaders = errors.New("there were headers present in the request which were not signed")
	// ErrInvalidContentSHA256: InvalidArgument, 400 (x-amz-content-sha256 is
	// neither a hex SHA-256 nor one of the known markers).
	ErrInvalidContentSHA256 = errors.New("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value, or a hex SHA-256")
	// ErrContentSHA256Mismatch: XAmzContentSHA256Mismatch, 400. Returned by
	// the final Read of Result.Body.
	ErrContentSHA256Mismatch = errors.New("the provided 'x-amz-content-sha256' header does not match what was computed")
	// ErrIncompleteBody: IncompleteBody, 400. The body ended before the
	// announced chunks, trailers or x-amz-decoded-content-length bytes.
	ErrIncompleteBody = errors.New("you did not provide the number of bytes specified by the Content-Length HTTP header")
	// ErrMalformedChunk: IncompleteBody, 400 (S3 answers so for aws-chunked
	// framing it cannot parse).
	ErrMalformedChunk = errors.New("the aws-chunked body is malformed")
	// ErrMalformedTrailer: MalformedTrailerError, 400.
	ErrMalformedTrailer = errors.New("the request contained trailing data that was not well-formed")
)

// WrongRegionError is returned when the credential scope names another region
// than the zone. It wraps ErrAuthorizationHeaderMalformed (header auth) or
// ErrAuthorizationQueryParametersError (presigned URL). S3 puts Expected in the
// <Region> element of the error document.
type WrongRegionError struct {
	Region    string // the region the client signed for
	Expected  string // the zone's region
	Presigned bool
}

func (e *WrongRegionError) Error() string {
	if e.Presigned {
		return fmt.Sprintf("error parsing the X-Amz-Credential parameter; the region '%s' is wrong; expecting '%s'", e.Region, e.Expected)
	}
	return fmt.Sprintf("the authorization header is malformed; the region '%s' is wrong; expecting '%s'", e.Region, e.Expected)
}

func (e *WrongRegionError) Unwrap() error {
	if e.Presigned {
		return ErrAuthorizationQueryParametersError
	}
	return ErrAuthorizationHeaderMalformed
}

// SignatureMismatchError is returned when the signature differs. It wraps
// ErrSignatureDoesNotMatch and carries what S3 reports in its error document
// to help a client author find the difference (never the expected signature).
type SignatureMismatchError struct {
	AccessKey        string
	StringToSign     string
	CanonicalRequest string
}

func (e *SignatureMismatchError) Error() string {
	return ErrSignatureDoesNotMatch.Error()
}

func (e *SignatureMismatchError) Unwrap() error { return ErrSignatureDoesNotMatch }
