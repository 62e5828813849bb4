package s3err

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestCodesHaveStatusAndMessage(t *testing.T) {
	for c, i := range codes {
		if i.status < 300 || i.status > 599 {
			t.Errorf("%s: status %d", c, i.status)
		}
		if !strings.HasSuffix(i.message, ".") {
			t.Errorf("%s: message %q does not end a sentence", c, i.message)
		}
	}
	if s := Code("Nope").Status(); s != http.StatusInternalServerError {
		t.Errorf("unknown code status %d", s)
	}
}

func TestErrorXMLAndIs(t *testing.T) {
	e := New(NoSuchKey, "")
	e.Key, e.BucketName, e.RequestID, e.Resource = "a<b", "bk", "RID", "/bk/a<b"
	var got xmlError
	if err := xml.Unmarshal(e.XML(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Code != NoSuchKey || got.Key != "a<b" || got.RequestID != "RID" || got.Message != NoSuchKey.Message() || got.Region != "" {
		t.Fatalf("round trip: %+v", got)
	}
	if e.Status != http.StatusNotFound {
		t.Fatalf("status %d", e.Status)
	}
	wrapped := fmt.Errorf("ctx: %w", e)
	if !errors.Is(wrapped, New(NoSuchKey, "other words")) || errors.Is(wrapped, New(NoSuchBucket, "")) {
		t.Fatal("Is by code")
	}
	var as *Error
	if !errors.As(wrapped, &as) || as.Key != "a<b" {
		t.Fatal("As")
	}
}

// The elements sos adds to a decided AccessDenied keep their wire names:
// clients (s3client) read them by name.
func TestDeniedElements(t *testing.T) {
	e := New(AccessDenied, "Access Denied: put-object on bucket b, key k is not allowed (role r: no rule matches).")
	e.BucketName, e.Key, e.Operation, e.Role, e.Reason = "b", "k", "put-object", "r", "no rule matches"
	doc := string(e.XML())
	for _, el := range []string{"<BucketName>b</BucketName>", "<Key>k</Key>", "<SosOperation>put-object</SosOperation>", "<SosRole>r</SosRole>", "<SosReason>no rule matches</SosReason>"} {
		if !strings.Contains(doc, el) {
			t.Errorf("no %s in %s", el, doc)
		}
	}
	if doc := string(New(AccessDenied, "").XML()); strings.Contains(doc, "<Sos") {
		t.Errorf("an undecided AccessDenied has sos elements: %s", doc)
	}
}
