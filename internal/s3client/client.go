package s3client

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// Config is everything a client of one zone needs; nothing is read from the
// environment or from shared config files.
type Config struct {
	// Endpoint is the zone's S3 URL, such as http://127.0.0.1:9001.
	Endpoint string
	// Region is the zone name; SigV4 signs with it.
	Region string
	// AccessKey, Secret and SessionToken sign requests. With no access key
	// requests are sent anonymously (unsigned).
	AccessKey, Secret, SessionToken string
	// HTTPClient sends the requests; nil means the SDK's default client for
	// New and http.DefaultClient for Replication.
	HTTPClient *http.Client
	// MaxAttempts bounds the SDK's attempts per call (1: no retry); zero
	// keeps the SDK's default. Replication's calls are never retried.
	MaxAttempts int
	// SDKChecksums lets the SDK compute and validate CRC checksums wherever
	// an operation supports them (its own default, aws-chunked uploads with
	// a trailer); otherwise only where an operation requires one.
	SDKChecksums bool
}

// New returns an S3 client of the zone cfg names, path-style addressed.
// optFns adjust the options after cfg is applied (tests use them for
// virtual-host style or a recording HTTP client).
func New(cfg Config, optFns ...func(*s3.Options)) *s3.Client {
	o := s3.Options{
		Region:                     cfg.Region,
		BaseEndpoint:               aws.String(cfg.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentialsOf(cfg),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           cfg.MaxAttempts,
		APIOptions:                 []func(*middleware.Stack) error{keepErrorDocuments},
	}
	if cfg.SDKChecksums {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	}
	if cfg.HTTPClient != nil {
		// Only a non-nil client: a nil *http.Client in the interface field
		// would be called.
		o.HTTPClient = cfg.HTTPClient
	}
	return s3.New(o, optFns...)
}

func credentialsOf(cfg Config) aws.CredentialsProvider {
	if cfg.AccessKey == "" {
		return aws.AnonymousCredentials{}
	}
	return credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.Secret, cfg.SessionToken)
}
