package s3client

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Error is an S3 error answer: the <Error> body's code and message, the
// HTTP status, and the X-Amz-Bucket-Region header (the zone holding the
// bucket, on a redirect). It implements smithy.APIError, as the SDK's
// errors do.
type Error struct {
	// Op is the operation in sos's kebab-case (head-object,
	// get-bucket-replication), "" when unknown.
	Op         string
	Code       string
	Message    string
	StatusCode int
	Region     string
	RequestID  string
}

func (e *Error) Error() string {
	switch {
	case e.Code != "" && e.Message != "":
		return e.Code + ": " + e.Message
	case e.Code != "":
		return e.Code
	case e.Message != "":
		return e.Message
	}
	return "HTTP " + http.StatusText(e.StatusCode)
}

// ErrorCode is the S3 error code.
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage is the S3 error message.
func (e *Error) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault it is: the server's for 5xx.
func (e *Error) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

var _ smithy.APIError = (*Error)(nil)

// ErrorOf returns the S3 error answer in err: a Replication call's *Error,
// or an SDK error's code, message, status and X-Amz-Bucket-Region. It
// returns nil when err holds no answer (nil, a transport error, a cancelled
// context).
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	var own *Error
	if errors.As(err, &own) {
		return own
	}
	e := &Error{}
	found := false
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code, e.Message, found = ae.ErrorCode(), ae.ErrorMessage(), true
	}
	// The SDK wraps transport failures in a ResponseError too, with no
	// response (status 0): those are no answer.
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		e.StatusCode, e.RequestID, found = re.HTTPStatusCode(), re.ServiceRequestID(), true
		if re.Response != nil {
			e.Region = re.Response.Header.Get("X-Amz-Bucket-Region")
		}
	}
	if !found {
		return nil
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		e.Op = kebab(oe.OperationName)
	}
	return e
}

// Code is the S3 error code in err, "" when there is none.
func Code(err error) string {
	if e := ErrorOf(err); e != nil {
		return e.Code
	}
	return ""
}

// errorFromResponse reads an S3 error answer from a raw call.
func errorFromResponse(op string, res *http.Response, body []byte) *Error {
	e := &Error{
		Op:         op,
		StatusCode: res.StatusCode,
		Region:     res.Header.Get("X-Amz-Bucket-Region"),
		RequestID:  res.Header.Get("X-Amz-Request-Id"),
	}
	var x struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		RequestID string   `xml:"RequestId"`
	}
	if xml.Unmarshal(body, &x) == nil {
		e.Code, e.Message = x.Code, x.Message
		if e.RequestID == "" {
			e.RequestID = x.RequestID
		}
		return e
	}
	// Not an <Error> document (a proxy's page, say): its text is the message.
	e.Message = clip(strings.TrimSpace(string(body)), 512)
	return e
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// kebab turns an SDK operation name into sos's: HeadObject -> head-object.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
