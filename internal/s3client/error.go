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

// Error is an S3 error answer: the <Error> body's code, message and extra
// elements, the HTTP status, and the X-Amz-Bucket-Region header (the zone
// holding the bucket, on a redirect or a name taken in another zone). It
// implements smithy.APIError, as the SDK's errors do. A HEAD answer has no
// body: only the status and the headers.
type Error struct {
	// Op is the operation in sos's kebab-case (head-object,
	// get-bucket-replication), "" when unknown.
	Op         string
	Code       string
	Message    string
	StatusCode int
	// Region is X-Amz-Bucket-Region, else the <Region> element.
	Region    string
	RequestID string
	// BucketName, Key and Endpoint are S3's elements of that name (the
	// endpoint to use, on PermanentRedirect).
	BucketName, Key, Endpoint string
	// DeniedOperation, DeniedRole and DeniedReason are what a zone's
	// access decision says on an AccessDenied (sos's <SosOperation>,
	// <SosRole>, <SosReason>): the operation refused (on BucketName/Key),
	// the role whose policy decided ("" when none did) and the policy's
	// words. All three are empty when the zone did not decide (a bad
	// signature, an anonymous request) or the answer has no body.
	DeniedOperation, DeniedRole, DeniedReason string
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

// Denied says what a zone's access decision refused, from the Denied*
// fields ("role r does not allow put-object on b/k (no rule … matches …)",
// "get-object on b/k is not allowed (unknown access key …)"); "" when the
// answer has none.
func (e *Error) Denied() string {
	if e.DeniedOperation == "" {
		return ""
	}
	on := ""
	if e.BucketName != "" {
		on = " on " + e.BucketName
		if e.Key != "" {
			on += "/" + e.Key
		}
	}
	why := ""
	if e.DeniedReason != "" {
		why = " (" + e.DeniedReason + ")"
	}
	if e.DeniedRole != "" {
		return "role " + e.DeniedRole + " does not allow " + e.DeniedOperation + on + why
	}
	return e.DeniedOperation + on + " is not allowed" + why
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
	var be *bodyError
	if errors.As(err, &be) {
		be.doc.fill(e)
	}
	// The SDK wraps transport failures in a ResponseError too, with no
	// response (status 0): those are no answer.
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		e.StatusCode, found = re.HTTPStatusCode(), true
		if id := re.ServiceRequestID(); id != "" {
			e.RequestID = id
		}
		if re.Response != nil {
			if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" {
				e.Region = r
			}
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
		RequestID:  res.Header.Get("X-Amz-Request-Id"),
	}
	if doc, ok := parseErrorDocument(body); ok {
		e.Code, e.Message = doc.Code, doc.Message
		doc.fill(e)
	} else {
		// Not an <Error> document (a proxy's page, say): its text is the message.
		e.Message = clip(strings.TrimSpace(string(body)), 512)
	}
	if r := res.Header.Get("X-Amz-Bucket-Region"); r != "" {
		e.Region = r
	}
	return e
}

// errorDocument is an S3 <Error> document: what s3client reads of it.
type errorDocument struct {
	XMLName         xml.Name `xml:"Error"`
	Code            string   `xml:"Code"`
	Message         string   `xml:"Message"`
	RequestID       string   `xml:"RequestId"`
	BucketName      string   `xml:"BucketName"`
	Key             string   `xml:"Key"`
	Region          string   `xml:"Region"`
	Endpoint        string   `xml:"Endpoint"`
	DeniedOperation string   `xml:"SosOperation"`
	DeniedRole      string   `xml:"SosRole"`
	DeniedReason    string   `xml:"SosReason"`
}

func parseErrorDocument(body []byte) (errorDocument, bool) {
	var d errorDocument
	if len(body) == 0 || xml.Unmarshal(body, &d) != nil {
		return errorDocument{}, false
	}
	return d, true
}

// fill copies the elements beyond code and message into e (the request ID
// only when no header gave one).
func (d *errorDocument) fill(e *Error) {
	if e.RequestID == "" {
		e.RequestID = d.RequestID
	}
	if e.Region == "" {
		e.Region = d.Region
	}
	e.BucketName, e.Key, e.Endpoint = d.BucketName, d.Key, d.Endpoint
	e.DeniedOperation, e.DeniedRole, e.DeniedReason = d.DeniedOperation, d.DeniedRole, d.DeniedReason
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
