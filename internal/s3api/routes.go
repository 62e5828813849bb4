package s3api

import (
	"net/http"
	"net/url"

	"sos/internal/s3err"
)

// operation is one S3 operation: its IAM name and its handler.
type operation struct {
	name   string
	handle func(h *Handler, req *request) error
	// prefixParam / versionParam: pass the prefix / versionId query
	// parameters to IAM.
	prefixParam, versionParam bool
	// copy: also authorize get-object on x-amz-copy-source.
	copy bool
	// replica: x-sos-replica-* headers are meaningful here.
	replica bool
	// streamsBody: the handler streams the body to the object service,
	// which reads it to the end (where sigv4 completes its checks) before
	// it commits anything; other handlers get a body already verified
	// (see proveAtEOF).
	streamsBody bool
	// notImplemented: a known S3 operation sos does not offer.
	notImplemented bool
}

// Levels of a request target.
const (
	lvService = "service"
	lvBucket  = "bucket"
	lvObject  = "object"
)

// Pseudo subresources decided from something else than a query parameter.
const (
	subNone     = ""
	subListV2   = "list-type=2"
	subCopy     = "copy"      // PUT object with x-amz-copy-source
	subPart     = "part"      // PUT ?partNumber&uploadId
	subPartCopy = "part-copy" // the same with x-amz-copy-source
)

type opKey struct{ method, level, sub string }

// opTable is THE operation table: method + level + subresource → operation.
// It is never modified.
var opTable = map[opKey]operation{
	{http.MethodGet, lvService, subNone}: {name: "list-buckets", handle: (*Handler).listBuckets},

	{http.MethodPut, lvBucket, subNone}:                   {name: "create-bucket", handle: (*Handler).createBucket},
	{http.MethodDelete, lvBucket, subNone}:                {name: "delete-bucket", handle: (*Handler).deleteBucket},
	{http.MethodHead, lvBucket, subNone}:                  {name: "head-bucket", handle: (*Handler).headBucket},
	{http.MethodGet, lvBucket, subNone}:                   {name: "list-objects", handle: (*Handler).listObjectsV1, prefixParam: true},
	{http.MethodGet, lvBucket, subListV2}:                 {name: "list-objects", handle: (*Handler).listObjectsV2, prefixParam: true},
	{http.MethodGet, lvBucket, "versions"}:                {name: "list-object-versions", handle: (*Handler).listObjectVersions, prefixParam: true},
	{http.MethodGet, lvBucket, "uploads"}:                 {name: "list-multipart-uploads", handle: (*Handler).listUploads, prefixParam: true},
	{http.MethodGet, lvBucket, "location"}:                {name: "get-bucket-location", handle: (*Handler).getBucketLocation},
	{http.MethodGet, lvBucket, "versioning"}:              {name: "get-bucket-versioning", handle: (*Handler).getBucketVersioning},
	{http.MethodPut, lvBucket, "versioning"}:              {name: "put-bucket-versioning", handle: (*Handler).putBucketVersioning},
	{http.MethodGet, lvBucket, "acl"}:                     {name: "get-bucket-acl", handle: (*Handler).getBucketACL},
	{http.MethodGet, lvBucket, "cors"}:                    {name: "get-bucket-cors", handle: (*Handler).getBucketCORS},
	{http.MethodPut, lvBucket, "cors"}:                    {name: "put-bucket-cors", handle: (*Handler).putBucketCORS},
	{http.MethodDelete, lvBucket, "cors"}:                 {name: "delete-bucket-cors", handle: (*Handler).deleteBucketCORS},
	{http.MethodPut, lvBucket, "tagging"}:                 {name: "put-bucket-tagging", handle: (*Handler).putBucketTagging},
	{http.MethodGet, lvBucket, "tagging"}:                 {name: "get-bucket-tagging", handle: (*Handler).getBucketTagging},
	{http.MethodDelete, lvBucket, "tagging"}:              {name: "delete-bucket-tagging", handle: (*Handler).deleteBucketTagging},
	{http.MethodGet, lvBucket, "ownershipControls"}:       {name: "get-bucket-ownership-controls", handle: (*Handler).getBucketOwnershipControls},
	{http.MethodPut, lvBucket, "replication"}:             {name: "put-bucket-replication", handle: (*Handler).putBucketReplication},
	{http.MethodGet, lvBucket, "replication"}:             {name: "get-bucket-replication", handle: (*Handler).getBucketReplication},
	{http.MethodDelete, lvBucket, "replication"}:          {name: "delete-bucket-replication", handle: (*Handler).deleteBucketReplication},
	{http.MethodPost, lvBucket, "delete"}:                 {name: "delete-objects", handle: (*Handler).deleteObjects},
	{http.MethodGet, lvBucket, "sos-replication-status"}:  {name: "get-bucket-replication", handle: (*Handler).replicationStatus},
	{http.MethodPost, lvBucket, "sos-replication-resync"}: {name: "put-bucket-replication", handle: (*Handler).replicationResync},
	{http.MethodPost, lvBucket, "sos-replication-retry"}:  {name: "put-bucket-replication", handle: (*Handler).replicationRetry},

	{http.MethodGet, lvObject, subNone}:       {name: "get-object", handle: (*Handler).getObject, versionParam: true},
	{http.MethodHead, lvObject, subNone}:      {name: "head-object", handle: (*Handler).headObject, versionParam: true},
	{http.MethodPut, lvObject, subNone}:       {name: "put-object", handle: (*Handler).putObject, replica: true, streamsBody: true},
	{http.MethodPut, lvObject, subCopy}:       {name: "put-object", handle: (*Handler).copyObject, copy: true},
	{http.MethodDelete, lvObject, subNone}:    {name: "delete-object", handle: (*Handler).deleteObject, versionParam: true},
	{http.MethodGet, lvObject, "tagging"}:     {name: "get-object-tagging", handle: (*Handler).getObjectTagging, versionParam: true},
	{http.MethodPut, lvObject, "tagging"}:     {name: "put-object-tagging", handle: (*Handler).putObjectTagging, versionParam: true},
	{http.MethodDelete, lvObject, "tagging"}:  {name: "delete-object-tagging", handle: (*Handler).deleteObjectTagging, versionParam: true},
	{http.MethodGet, lvObject, "attributes"}:  {name: "get-object-attributes", handle: (*Handler).getObjectAttributes, versionParam: true},
	{http.MethodGet, lvObject, "acl"}:         {name: "get-object-acl", handle: (*Handler).getObjectACL, versionParam: true},
	{http.MethodPost, lvObject, "uploads"}:    {name: "put-object", handle: (*Handler).createUpload, replica: true},
	{http.MethodPut, lvObject, subPart}:       {name: "put-object", handle: (*Handler).uploadPart, streamsBody: true},
	{http.MethodPut, lvObject, subPartCopy}:   {name: "put-object", handle: (*Handler).uploadPartCopy, copy: true},
	{http.MethodPost, lvObject, "uploadId"}:   {name: "put-object", handle: (*Handler).completeUpload},
	{http.MethodDelete, lvObject, "uploadId"}: {name: "put-object", handle: (*Handler).abortUpload},
	{http.MethodGet, lvObject, "uploadId"}:    {name: "put-object", handle: (*Handler).listParts},
}

// Query parameters that select a bucket subresource, in the order they are
// looked for. Those without an opTable entry are S3 features sos does not
// offer (501 NotImplemented); any other parameter (x-id, ...) is ignored.
var bucketSubresources = []string{
	"sos-replication-status", "sos-replication-resync", "sos-replication-retry",
	"versioning", "uploads", "versions", "location", "acl", "cors",
	"ownershipControls", "replication", "delete",
	"policy", "policyStatus", "lifecycle", "tagging", "website", "encryption", "logging",
	"notification", "object-lock", "accelerate", "requestPayment", "publicAccessBlock",
	"analytics", "metrics", "inventory", "intelligent-tiering",
}

var objectSubresources = []string{
	"uploadId", "uploads", "tagging", "acl",
	"retention", "legal-hold", "torrent", "restore", "select", "attributes",
}

// route finds the operation of a request.
func route(method, bucket, key string, q url.Values, hdr http.Header) (*operation, error) {
	k := opKey{method: method}
	switch {
	case bucket == "":
		k.level = lvService
	case key == "":
		k.level = lvBucket
		k.sub = firstPresent(q, bucketSubresources)
		if k.sub == subNone && q.Get("list-type") == "2" {
			k.sub = subListV2
		}
	default:
		k.level = lvObject
		k.sub = firstPresent(q, objectSubresources)
		hasCopy := hdr.Get("X-Amz-Copy-Source") != ""
		switch {
		case method == http.MethodPut && k.sub == "uploadId" && q.Has("partNumber"):
			k.sub = subPart
			if hasCopy {
				k.sub = subPartCopy
			}
		case method == http.MethodPut && k.sub == subNone && hasCopy:
			k.sub = subCopy
		}
	}
	if op, ok := opTable[k]; ok {
		return &op, nil
	}
	if k.sub != subNone && k.sub != subListV2 && (k.level == lvBucket || k.level == lvObject) {
		if _, known := opTable[opKey{method, k.level, k.sub}]; !known {
			// A known subresource with a method sos does not serve, or
			// one sos does not implement at all.
			name := k.sub
			if method == http.MethodPut && k.sub == "uploadId" {
				return nil, s3err.New(s3err.InvalidArgument, "An upload of a part needs both partNumber and uploadId.")
			}
			return &operation{name: method + " ?" + name, notImplemented: true}, nil
		}
	}
	return nil, s3err.New(s3err.MethodNotAllowed, "The method "+method+" is not allowed against this resource.")
}

func firstPresent(q url.Values, names []string) string {
	for _, n := range names {
		if q.Has(n) {
			return n
		}
	}
	return subNone
}
