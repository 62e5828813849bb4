package replication

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"sos/internal/s3client"
	"sos/internal/transport"
)

func apiErr(status int, code, msg string) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: msg},
		},
	}}
}

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "x"}}
	cases := []struct {
		name      string
		err       error
		reason    string
		permanent bool
		destDown  bool
		stale     bool
	}{
		{"access denied", apiErr(403, "AccessDenied", "no put-object"), ReasonAccessDenied, true, false, false},
		{"no such bucket", apiErr(404, "NoSuchBucket", ""), ReasonNoSuchBucket, true, false, false},
		{"unversioned", apiErr(400, "InvalidRequest", "versioning is not enabled"), ReasonInvalidRequest, true, false, false},
		{"invalid argument", apiErr(400, "InvalidArgument", "bad"), ReasonInvalidArgument, true, false, false},
		{"slow down", apiErr(503, "SlowDown", ""), ReasonSlowDown, false, true, false},
		{"internal error", apiErr(500, "InternalError", ""), ReasonServerError, false, false, false},
		{"bad gateway without code", apiErr(502, "", ""), ReasonServerError, false, true, false},
		{"expired token", apiErr(400, "ExpiredToken", ""), ReasonCredentials, false, false, true},
		{"unknown key", apiErr(403, "InvalidAccessKeyId", ""), ReasonCredentials, false, false, true},
		{"request timeout", apiErr(400, "RequestTimeout", ""), ReasonTimeout, false, false, false},
		{"connection refused", fmt.Errorf("send: %w", syscall.ECONNREFUSED), ReasonNetwork, false, true, false},
		{"dial error", refused, ReasonNetwork, false, true, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), ReasonTimeout, false, true, false},
		{"sdk send error", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: errors.New("boom")}}, ReasonNetwork, false, true, false},
		{"untrusted certificate", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}}, ReasonTLS, false, true, false},
		{"wrong host name", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "10.0.0.1"}}}, ReasonTLS, false, true, false},
		{"plain HTTP refused", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &transport.CleartextError{Addr: "10.0.0.1:9000", Flag: "--insecure-http"}}}, ReasonTLS, false, true, false},
		{"unknown role", fmt.Errorf("control plane: %w", ErrUnknownRole), ReasonAccessDenied, true, false, false},
		{"already classified", permanent(ReasonNoSuchBucket, "gone"), ReasonNoSuchBucket, true, false, false},
		{"anything else", errors.New("weird"), ReasonOther, false, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oe := classify(tc.err, "PutObject b/k")
			if oe.Reason != tc.reason || oe.Permanent != tc.permanent || oe.DestDown != tc.destDown || oe.CredsStale != tc.stale {
				t.Fatalf("classify = %+v, want reason %s permanent %v destDown %v stale %v", oe, tc.reason, tc.permanent, tc.destDown, tc.stale)
			}
			if oe.Msg == "" {
				t.Fatal("empty message")
			}
			if oe.Permanent && oe.Reason != ReasonOther && !startsWith(oe.Msg, oe.Reason) {
				t.Fatalf("permanent reason %q should start with %s", oe.Msg, oe.Reason)
			}
		})
	}
}

func startsWith(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// A denial the destination decided is worded from the fields of its answer,
// not from its message.
func TestClassifyDeniedFields(t *testing.T) {
	err := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &s3client.Error{
		Code: "AccessDenied", Message: "Access Denied.", StatusCode: 403, BucketName: "my-destination", Key: "a.txt",
		DeniedOperation: "put-object", DeniedRole: "replication-x", DeniedReason: "no rule of services.sos matches put-object on bucket my-destination key a.txt",
	}}
	oe := classify(err, "replicating")
	want := "AccessDenied: replicating: role replication-x does not allow put-object on my-destination/a.txt (no rule of services.sos matches put-object on bucket my-destination key a.txt)"
	if oe.Reason != ReasonAccessDenied || !oe.Permanent || oe.Msg != want {
		t.Fatalf("classify = %+v\nwant message %q", oe, want)
	}
	// Without the fields, the message is kept.
	if oe := classify(apiErr(403, "AccessDenied", "no put-object"), "replicating"); oe.Msg != "AccessDenied: replicating: no put-object" {
		t.Fatalf("without fields: %q", oe.Msg)
	}
}
