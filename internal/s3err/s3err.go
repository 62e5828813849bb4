package s3err

import (
	"encoding/xml"
	"net/http"
)

// Code is an S3 error code, such as NoSuchKey.
type Code string

// The S3 error codes sos answers with.
const (
	AccessDenied                          Code = "AccessDenied"
	AccessForbidden                       Code = "AccessForbidden"
	AuthorizationHeaderMalformed          Code = "AuthorizationHeaderMalformed"
	AuthorizationQueryParametersError     Code = "AuthorizationQueryParametersError"
	BadDigest                             Code = "BadDigest"
	BadRequest                            Code = "BadRequest"
	BucketAlreadyExists                   Code = "BucketAlreadyExists"
	BucketAlreadyOwnedByYou               Code = "BucketAlreadyOwnedByYou"
	BucketNotEmpty                        Code = "BucketNotEmpty"
	EntityTooLarge                        Code = "EntityTooLarge"
	EntityTooSmall                        Code = "EntityTooSmall"
	ExpiredToken                          Code = "ExpiredToken"
	IllegalLocationConstraintException    Code = "IllegalLocationConstraintException"
	IllegalVersioningConfiguration        Code = "IllegalVersioningConfigurationException"
	IncompleteBody                        Code = "IncompleteBody"
	InternalError                         Code = "InternalError"
	InvalidAccessKeyID                    Code = "InvalidAccessKeyId"
	InvalidArgument                       Code = "InvalidArgument"
	InvalidBucketName                     Code = "InvalidBucketName"
	InvalidBucketState                    Code = "InvalidBucketState"
	InvalidDigest                         Code = "InvalidDigest"
	InvalidPart                           Code = "InvalidPart"
	InvalidPartOrder                      Code = "InvalidPartOrder"
	InvalidRange                          Code = "InvalidRange"
	InvalidRequest                        Code = "InvalidRequest"
	InvalidTag                            Code = "InvalidTag"
	InvalidToken                          Code = "InvalidToken"
	InvalidURI                            Code = "InvalidURI"
	KeyTooLongError                       Code = "KeyTooLongError"
	MalformedTrailerError                 Code = "MalformedTrailerError"
	MalformedXML                          Code = "MalformedXML"
	MaxMessageLengthExceeded              Code = "MaxMessageLengthExceeded"
	MetadataTooLarge                      Code = "MetadataTooLarge"
	MethodNotAllowed                      Code = "MethodNotAllowed"
	MissingContentLength                  Code = "MissingContentLength"
	NoSuchBucket                          Code = "NoSuchBucket"
	NoSuchCORSConfiguration               Code = "NoSuchCORSConfiguration"
	NoSuchKey                             Code = "NoSuchKey"
	NoSuchTagSet                          Code = "NoSuchTagSet"
	NoSuchUpload                          Code = "NoSuchUpload"
	NoSuchVersion                         Code = "NoSuchVersion"
	NotImplemented                        Code = "NotImplemented"
	NotModified                           Code = "NotModified"
	OwnershipControlsNotFoundError        Code = "OwnershipControlsNotFoundError"
	PermanentRedirect                     Code = "PermanentRedirect"
	PreconditionFailed                    Code = "PreconditionFailed"
	ReplicationConfigurationNotFoundError Code = "ReplicationConfigurationNotFoundError"
	RequestTimeTooSkewed                  Code = "RequestTimeTooSkewed"
	RequestTimeout                        Code = "RequestTimeout"
	ServiceUnavailable                    Code = "ServiceUnavailable"
	SignatureDoesNotMatch                 Code = "SignatureDoesNotMatch"
	SlowDown                              Code = "SlowDown"
	XAmzContentSHA256Mismatch             Code = "XAmzContentSHA256Mismatch"
)

type codeInfo struct {
	status  int
	message string
}

// codes gives each code its HTTP status and S3's default message. It is
// read-only after initialisation.
var codes = map[Code]codeInfo{
	AccessDenied:                          {http.StatusForbidden, "Access Denied."},
	AccessForbidden:                       {http.StatusForbidden, "CORSResponse: This CORS request is not allowed."},
	AuthorizationHeaderMalformed:          {http.StatusBadRequest, "The authorization header is malformed."},
	AuthorizationQueryParametersError:     {http.StatusBadRequest, "The authorization query parameters are malformed."},
	BadRequest:                            {http.StatusBadRequest, "Bad request."},
	BadDigest:                             {http.StatusBadRequest, "The Content-MD5 or checksum value you specified did not match what the server received."},
	BucketAlreadyExists:                   {http.StatusConflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Select a different name and try again."},
	BucketAlreadyOwnedByYou:               {http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."},
	BucketNotEmpty:                        {http.StatusConflict, "The bucket you tried to delete is not empty."},
	EntityTooLarge:                        {http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	EntityTooSmall:                        {http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."},
	ExpiredToken:                          {http.StatusBadRequest, "The provided token has expired."},
	IllegalLocationConstraintException:    {http.StatusBadRequest, "The location constraint you specified is not this zone."},
	IllegalVersioningConfiguration:        {http.StatusBadRequest, "The versioning configuration specified in the request is invalid."},
	IncompleteBody:                        {http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	InternalError:                         {http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	InvalidAccessKeyID:                    {http.StatusForbidden, "The AWS access key ID you provided does not exist in our records."},
	InvalidArgument:                       {http.StatusBadRequest, "Invalid argument."},
	InvalidBucketName:                     {http.StatusBadRequest, "The specified bucket is not valid."},
	InvalidBucketState:                    {http.StatusConflict, "The request is not valid with the current state of the bucket."},
	InvalidDigest:                         {http.StatusBadRequest, "The Content-MD5 or checksum value you specified is not valid."},
	InvalidPart:                           {http.StatusBadRequest, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."},
	InvalidPartOrder:                      {http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."},
	InvalidRange:                          {http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable."},
	InvalidRequest:                        {http.StatusBadRequest, "Invalid request."},
	InvalidTag:                            {http.StatusBadRequest, "The tag provided was not a valid tag."},
	InvalidToken:                          {http.StatusBadRequest, "The provided token is malformed or otherwise invalid."},
	InvalidURI:                            {http.StatusBadRequest, "Couldn't parse the specified URI."},
	KeyTooLongError:                       {http.StatusBadRequest, "Your key is too long."},
	MalformedTrailerError:                 {http.StatusBadRequest, "The request contained trailing data that was not well-formed."},
	MalformedXML:                          {http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."},
	MaxMessageLengthExceeded:              {http.StatusBadRequest, "Your request was too big."},
	MetadataTooLarge:                      {http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."},
	MethodNotAllowed:                      {http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	MissingContentLength:                  {http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	NoSuchBucket:                          {http.StatusNotFound, "The specified bucket does not exist."},
	NoSuchCORSConfiguration:               {http.StatusNotFound, "The CORS configuration does not exist."},
	NoSuchKey:                             {http.StatusNotFound, "The specified key does not exist."},
	NoSuchTagSet:                          {http.StatusNotFound, "The TagSet does not exist."},
	NoSuchUpload:                          {http.StatusNotFound, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	NoSuchVersion:                         {http.StatusNotFound, "The specified version does not exist."},
	NotImplemented:                        {http.StatusNotImplemented, "A header or parameter you provided implies functionality that is not implemented."},
	NotModified:                           {http.StatusNotModified, "Not Modified."},
	OwnershipControlsNotFoundError:        {http.StatusNotFound, "The bucket ownership controls were not found."},
	PermanentRedirect:                     {http.StatusMovedPermanently, "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint."},
	PreconditionFailed:                    {http.StatusPreconditionFailed, "At least one of the preconditions you specified did not hold."},
	ReplicationConfigurationNotFoundError: {http.StatusNotFound, "The replication configuration was not found."},
	RequestTimeTooSkewed:                  {http.StatusForbidden, "The difference between the request time and the server's time is too large."},
	RequestTimeout:                        {http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."},
	ServiceUnavailable:                    {http.StatusServiceUnavailable, "Please reduce your request rate."},
	SignatureDoesNotMatch:                 {http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	SlowDown:                              {http.StatusServiceUnavailable, "Please reduce your request rate."},
	XAmzContentSHA256Mismatch:             {http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
}

// Status is the HTTP status S3 answers code with (500 for an unknown code).
func (c Code) Status() int {
	if i, ok := codes[c]; ok {
		return i.status
	}
	return http.StatusInternalServerError
}

// Message is S3's default message for code.
func (c Code) Message() string {
	if i, ok := codes[c]; ok {
		return i.message
	}
	return string(c)
}

// Error is an S3 error response. It is an error; the zero value of the
// optional fields leaves their elements out of the XML document.
type Error struct {
	Code    Code
	Status  int
	Message string

	// Elements S3 adds for some codes.
	BucketName string
	Key        string
	VersionID  string
	UploadID   string
	Region     string // wrong-region errors: the expected region
	Endpoint   string // PermanentRedirect: the endpoint to use
	Condition  string // PreconditionFailed: the header that failed

	// sos's own elements (S3 clients ignore elements they do not know):
	// on an AccessDenied that an access decision made, the operation
	// refused (<SosOperation>, in sos's kebab-case), the role whose policy
	// decided (<SosRole>, none when no role did) and the decision's words
	// (<SosReason>). BucketName and Key name what was refused.
	Operation string
	Role      string
	Reason    string

	// Set by the writer of the response.
	Resource  string
	RequestID string
	HostID    string
}

// New returns an Error with code's status and the given message (S3's
// default message when msg is empty).
func New(code Code, msg string) *Error {
	if msg == "" {
		msg = code.Message()
	}
	return &Error{Code: code, Status: code.Status(), Message: msg}
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is(err, s3err.New(code, "")) match any Error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

type xmlError struct {
	XMLName    xml.Name `xml:"Error"`
	Code       Code     `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	VersionID  string   `xml:"VersionId,omitempty"`
	UploadID   string   `xml:"UploadId,omitempty"`
	Region     string   `xml:"Region,omitempty"`
	Endpoint   string   `xml:"Endpoint,omitempty"`
	Condition  string   `xml:"Condition,omitempty"`
	Operation  string   `xml:"SosOperation,omitempty"`
	Role       string   `xml:"SosRole,omitempty"`
	Reason     string   `xml:"SosReason,omitempty"`
	Resource   string   `xml:"Resource,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId,omitempty"`
}

// XML renders the <Error> document, with the XML declaration.
func (e *Error) XML() []byte {
	b, err := xml.Marshal(xmlError{
		Code: e.Code, Message: e.Message, BucketName: e.BucketName, Key: e.Key,
		VersionID: e.VersionID, UploadID: e.UploadID, Region: e.Region,
		Endpoint: e.Endpoint, Condition: e.Condition,
		Operation: e.Operation, Role: e.Role, Reason: e.Reason, Resource: e.Resource,
		RequestID: e.RequestID, HostID: e.HostID,
	})
	if err != nil {
		// Strings only: cannot fail.
		panic(err)
	}
	return append([]byte(xml.Header), b...)
}
