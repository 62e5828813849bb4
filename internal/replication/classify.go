package replication

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"sos/internal/s3client"
	"sos/internal/transport"
)

// Failure reasons, used as the metrics label and as the first word of the
// reason shown to users.
const (
	ReasonAccessDenied    = "AccessDenied"
	ReasonNoSuchBucket    = "NoSuchBucket"
	ReasonInvalidRequest  = "InvalidRequest"
	ReasonInvalidArgument = "InvalidArgument"
	ReasonNetwork         = "network"
	ReasonTLS             = "tls"
	ReasonTimeout         = "timeout"
	ReasonServerError     = "server-error"
	ReasonSlowDown        = "SlowDown"
	ReasonCredentials     = "credentials"
	ReasonOther           = "other"
)

// ErrUnknownRole may be wrapped by a Credentials implementation when the
// role does not exist: the operation then fails permanently (FAILED) instead
// of being retried.
var ErrUnknownRole = errors.New("unknown IAM role")

// opError is the classified outcome of a failed replication operation.
type opError struct {
	Reason    string // one of the Reason* constants
	Permanent bool   // FAILED, not retried until asked
	DestDown  bool   // the destination as a whole seems unreachable
	// CredsStale asks for new temporary credentials before the next try.
	CredsStale bool
	Msg        string // words for the user
	Err        error
}

func (e *opError) Error() string { return e.Msg }
func (e *opError) Unwrap() error { return e.Err }

func permanent(reason, format string, args ...any) *opError {
	return &opError{Reason: reason, Permanent: true, Msg: reason + ": " + fmt.Sprintf(format, args...)}
}

// classify turns an error of an S3 call to the destination (or of the steps
// before it) into an opError. what names the operation for the message,
// e.g. "PutObject my-destination/a.txt".
func classify(err error, what string) *opError {
	var oe *opError
	if errors.As(err, &oe) {
		return oe
	}
	if errors.Is(err, ErrUnknownRole) {
		return &opError{Reason: ReasonAccessDenied, Permanent: true, Msg: "AccessDenied: " + err.Error(), Err: err}
	}
	msg := what + ": " + err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		detail := ae.ErrorMessage()
		if detail == "" {
			detail = code
		}
		switch code {
		case "AccessDenied", "AllAccessDisabled":
			if se := s3client.ErrorOf(err); se != nil && se.Denied() != "" {
				detail = se.Denied()
			}
			return &opError{Reason: ReasonAccessDenied, Permanent: true, Msg: "AccessDenied: " + what + ": " + detail, Err: err}
		case "NoSuchBucket":
			return &opError{Reason: ReasonNoSuchBucket, Permanent: true, Msg: "NoSuchBucket: " + what + ": " + detail, Err: err}
		case "InvalidRequest", "InvalidBucketState":
			return &opError{Reason: ReasonInvalidRequest, Permanent: true, Msg: "InvalidRequest: " + what + ": " + detail + " (is versioning enabled on the destination bucket?)", Err: err}
		case "InvalidArgument", "InvalidTag", "KeyTooLongError", "EntityTooLarge", "MetadataTooLarge":
			return &opError{Reason: ReasonInvalidArgument, Permanent: true, Msg: "InvalidArgument: " + what + ": " + detail, Err: err}
		case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests":
			return &opError{Reason: ReasonSlowDown, DestDown: true, Msg: "SlowDown: " + msg, Err: err}
		case "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return &opError{Reason: ReasonCredentials, CredsStale: true, Msg: msg, Err: err}
		case "RequestTimeout", "RequestTimeTooSkewed":
			return &opError{Reason: ReasonTimeout, Msg: msg, Err: err}
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		st := re.HTTPStatusCode()
		switch {
		case st == http.StatusServiceUnavailable || st == http.StatusBadGateway || st == http.StatusGatewayTimeout:
			return &opError{Reason: ReasonServerError, DestDown: true, Msg: msg, Err: err}
		case st >= 500:
			return &opError{Reason: ReasonServerError, Msg: msg, Err: err}
		case st == http.StatusTooManyRequests:
			return &opError{Reason: ReasonSlowDown, DestDown: true, Msg: msg, Err: err}
		case st == http.StatusForbidden && ae == nil:
			return &opError{Reason: ReasonAccessDenied, Permanent: true, Msg: "AccessDenied: " + msg, Err: err}
		}
	}
	if isTLS(err) {
		// The destination's certificate does not verify, or its endpoint
		// is plain HTTP to another host: the operator fixes that (--ca, an
		// https:// endpoint), and the entries go as soon as it is fixed.
		return &opError{Reason: ReasonTLS, DestDown: true, Msg: "tls: " + msg, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return &opError{Reason: ReasonTimeout, DestDown: true, Msg: msg, Err: err}
	}
	if isNetwork(err) {
		return &opError{Reason: ReasonNetwork, DestDown: true, Msg: msg, Err: err}
	}
	return &opError{Reason: ReasonOther, Msg: msg, Err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLS(err error) bool {
	var ce *transport.CleartextError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ce) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

func isNetwork(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.As(err, &op), errors.As(err, &dns):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var se *smithy.OperationError
	if errors.As(err, &se) {
		// The SDK wraps transport failures in a RequestSendError.
		var rs *smithyhttp.RequestSendError
		return errors.As(err, &rs)
	}
	return false
}
