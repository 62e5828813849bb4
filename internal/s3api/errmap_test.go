package s3api

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"sos/internal/blob"
	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/s3err"
)

// objectErrors is what each object service error must become on the wire,
// as AWS answers the same situation.
var objectErrors = map[string]struct {
	err    error
	code   s3err.Code
	status int
}{
	"ErrNoSuchBucket":              {object.ErrNoSuchBucket, s3err.NoSuchBucket, 404},
	"ErrBucketExists":              {object.ErrBucketExists, s3err.BucketAlreadyExists, 409},
	"ErrBucketOwnedByYou":          {object.ErrBucketOwnedByYou, s3err.BucketAlreadyOwnedByYou, 409},
	"ErrBucketNotEmpty":            {object.ErrBucketNotEmpty, s3err.BucketNotEmpty, 409},
	"ErrInvalidBucketName":         {object.ErrInvalidBucketName, s3err.InvalidBucketName, 400},
	"ErrNoSuchKey":                 {object.ErrNoSuchKey, s3err.NoSuchKey, 404},
	"ErrNoSuchVersion":             {object.ErrNoSuchVersion, s3err.NoSuchVersion, 404},
	"ErrKeyTooLong":                {object.ErrKeyTooLong, s3err.KeyTooLongError, 400},
	"ErrMethodNotAllowed":          {object.ErrMethodNotAllowed, s3err.MethodNotAllowed, 405},
	"ErrPreconditionFailed":        {object.ErrPreconditionFailed, s3err.PreconditionFailed, 412},
	"ErrNotModified":               {object.ErrNotModified, s3err.NotModified, 304},
	"ErrInvalidRange":              {object.ErrInvalidRange, s3err.InvalidRange, 416},
	"ErrBadDigest":                 {object.ErrBadDigest, s3err.BadDigest, 400},
	"ErrInvalidDigest":             {object.ErrInvalidDigest, s3err.InvalidDigest, 400},
	"ErrEntityTooLarge":            {object.ErrEntityTooLarge, s3err.EntityTooLarge, 400},
	"ErrEntityTooSmall":            {object.ErrEntityTooSmall, s3err.EntityTooSmall, 400},
	"ErrIncompleteBody":            {object.ErrIncompleteBody, s3err.IncompleteBody, 400},
	"ErrNoSuchUpload":              {object.ErrNoSuchUpload, s3err.NoSuchUpload, 404},
	"ErrInvalidPart":               {object.ErrInvalidPart, s3err.InvalidPart, 400},
	"ErrInvalidPartOrder":          {object.ErrInvalidPartOrder, s3err.InvalidPartOrder, 400},
	"ErrInvalidArgument":           {object.ErrInvalidArgument, s3err.InvalidArgument, 400},
	"ErrInvalidTag":                {object.ErrInvalidTag, s3err.InvalidTag, 400},
	"ErrInvalidRequest":            {object.ErrInvalidRequest, s3err.InvalidRequest, 400},
	"ErrReplicationConfigNotFound": {object.ErrReplicationConfigNotFound, s3err.ReplicationConfigurationNotFoundError, 404},
	"ErrNoSuchCORSConfiguration":   {object.ErrNoSuchCORSConfiguration, s3err.NoSuchCORSConfiguration, 404},
	"ErrNoSuchTagSet":              {object.ErrNoSuchTagSet, s3err.NoSuchTagSet, 404},
	"ErrMalformedConfig":           {object.ErrMalformedConfig, s3err.MalformedXML, 400},
	"ErrInvalidStorageState":       {object.ErrInvalidStorageState, s3err.InvalidBucketState, 409},
	"ErrMetadataTooLarge":          {object.ErrMetadataTooLarge, s3err.MetadataTooLarge, 400},
	"ErrMalformedPartList":         {object.ErrMalformedPartList, s3err.MalformedXML, 400},
	"ErrUnavailable":               {object.ErrUnavailable, s3err.ServiceUnavailable, 503},
}

// exportedErrVars lists the exported Err* variables declared in a package
// directory's non-test files.
func exportedErrVars(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

// TestEveryObjectErrorIsMapped fails when the object service gains an
// error that the one error table does not send as its S3 code.
func TestEveryObjectErrorIsMapped(t *testing.T) {
	declared := exportedErrVars(t, "../object")
	if len(declared) == 0 {
		t.Fatal("no Err* variables found in ../object")
	}
	for _, name := range declared {
		want, ok := objectErrors[name]
		if !ok {
			t.Errorf("object.%s has no expected S3 code here: add it to objectErrors and to errorTable", name)
			continue
		}
		for _, err := range []error{want.err, fmt.Errorf("%w: with words for the user", want.err)} {
			e, known := toS3Error(err)
			if !known || e.Code != want.code || e.Status != want.status {
				t.Errorf("object.%s (%v) → %s %d (known %v), want %s %d", name, err, e.Code, e.Status, known, want.code, want.status)
			}
			if e.Status != http.StatusNotModified && e.Message == "" {
				t.Errorf("object.%s: empty message", name)
			}
		}
	}
	if len(objectErrors) != len(declared) {
		t.Errorf("objectErrors lists %d errors, the object package declares %d: %v", len(objectErrors), len(declared), declared)
	}
	// Typed errors keep their sentinel's code.
	e, _ := toS3Error(&object.ConditionError{Header: "If-Match", Err: object.ErrPreconditionFailed})
	if e.Code != s3err.PreconditionFailed || e.Condition != "If-Match" {
		t.Errorf("ConditionError → %+v", e)
	}
	e, _ = toS3Error(&object.BucketTakenError{Bucket: "demo", Zone: "at-vie-1"})
	if e.Code != s3err.BucketAlreadyExists || e.Region != "at-vie-1" || e.BucketName != "demo" {
		t.Errorf("BucketTakenError → %+v", e)
	}
	e, _ = toS3Error(&object.DeleteMarkerError{Err: object.ErrMethodNotAllowed})
	if e.Code != s3err.MethodNotAllowed {
		t.Errorf("DeleteMarkerError → %+v", e)
	}
}

// TestStorageErrorsAre503InWords: a full disk (blob.ErrNoSpace) and a
// failed metadata store (meta.ErrStoreFailed) answer ServiceUnavailable
// (503, as S3 answers what may pass), never InternalError, with what the
// client may expect and the cause in the message.
func TestStorageErrorsAre503InWords(t *testing.T) {
	for _, c := range []struct {
		err   error
		words []string
	}{
		{fmt.Errorf("%w: writing a blob: %w", blob.ErrNoSpace, syscall.ENOSPC),
			[]string{"disk is full", "refuses writes until space is freed", "no space left on device"}},
		{fmt.Errorf("%w: pebble: error writing WAL: %w; it accepts no more reads or writes until the zone restarts", meta.ErrStoreFailed, syscall.ENOSPC),
			[]string{"metadata store failed", "serves again once it is restarted", "no space left on device"}},
	} {
		e, known := toS3Error(fmt.Errorf("putting demo/key: %w", c.err))
		if !known || e.Code != s3err.ServiceUnavailable || e.Status != http.StatusServiceUnavailable {
			t.Errorf("%v → %s %d (known %v), want ServiceUnavailable 503", c.err, e.Code, e.Status, known)
		}
		for _, w := range c.words {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%v: message %q does not say %q", c.err, e.Message, w)
			}
		}
	}
}
