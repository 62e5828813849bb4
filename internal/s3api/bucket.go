package s3api

import (
	"fmt"
	"net/http"
	"sort"

	"sos/internal/s3err"
)

func (h *Handler) listBuckets(req *request) error {
	buckets, err := h.objects.ListBuckets(req.r.Context())
	if err != nil {
		return err
	}
	if h.locator != nil {
		for _, b := range h.locator.Buckets() {
			if b.Zone != h.zone { // this zone's own list is authoritative
				buckets = append(buckets, b)
			}
		}
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].Name < buckets[j].Name })
	out := listAllMyBucketsResult{NS: s3NS, Owner: theOwner}
	for _, b := range buckets {
		out.Buckets = append(out.Buckets, struct {
			Name         string `xml:"Name"`
			CreationDate string `xml:"CreationDate"`
			BucketRegion string `xml:"BucketRegion,omitempty"`
		}{b.Name, xmlTime(b.CreatedAt), b.Zone})
	}
	return writeXML(req.w, out)
}

func (h *Handler) createBucket(req *request) error {
	body, err := xmlBody(req, smallLimits.Bytes)
	if err != nil {
		return err
	}
	loc, err := parseCreateBucket(body)
	if err != nil {
		return err
	}
	if loc != "" && loc != h.zone {
		return s3err.New(s3err.IllegalLocationConstraintException, fmt.Sprintf(
			"The %s location constraint is incompatible for the zone %s: create the bucket at the zone's own endpoint, or leave LocationConstraint out.", loc, h.zone))
	}
	if err := h.objects.CreateBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	req.w.Header().Set("Location", "/"+req.bucket)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(req *request) error {
	if err := h.objects.DeleteBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) headBucket(req *request) error {
	if _, err := h.objects.Bucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	req.w.Header().Set("X-Amz-Access-Point-Alias", "false")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketLocation(req *request) error {
	b, err := h.objects.Bucket(req.r.Context(), req.bucket)
	if err != nil {
		return err
	}
	loc := b.Zone
	if loc == "" {
		loc = h.zone
	}
	return writeXML(req.w, locationConstraintXML{NS: s3NS, Location: loc})
}

func (h *Handler) getBucketVersioning(req *request) error {
	b, err := h.objects.Bucket(req.r.Context(), req.bucket)
	if err != nil {
		return err
	}
	return writeXML(req.w, versioningOutXML{NS: s3NS, Status: string(b.Versioning)})
}

func (h *Handler) putBucketVersioning(req *request) error {
	body, err := xmlBody(req, smallLimits.Bytes)
	if err != nil {
		return err
	}
	v, err := parseVersioning(body)
	if err != nil {
		return err
	}
	if err := h.objects.SetVersioning(req.r.Context(), req.bucket, v); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketACL(req *request) error {
	if _, err := h.objects.Bucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	return writeXML(req.w, privateACL())
}

func (h *Handler) getBucketOwnershipControls(req *request) error {
	if _, err := h.objects.Bucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	e := s3err.New(s3err.OwnershipControlsNotFoundError, "")
	e.BucketName = req.bucket
	return e
}

func (h *Handler) putBucketTagging(req *request) error {
	body, err := xmlBody(req, taggingLimits.Bytes)
	if err != nil {
		return err
	}
	tags, err := parseTagSet(body)
	if err != nil {
		return err
	}
	if err := h.objects.SetBucketTags(req.r.Context(), req.bucket, tags); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) getBucketTagging(req *request) error {
	tags, err := h.objects.BucketTags(req.r.Context(), req.bucket)
	if err != nil {
		return err
	}
	out := taggingOutXML{NS: s3NS, Tags: []tagXML{}}
	for k, v := range tags {
		out.Tags = append(out.Tags, tagXML{k, v})
	}
	sort.Slice(out.Tags, func(i, j int) bool { return out.Tags[i].Key < out.Tags[j].Key })
	return writeXML(req.w, out)
}

func (h *Handler) deleteBucketTagging(req *request) error {
	if err := h.objects.SetBucketTags(req.r.Context(), req.bucket, nil); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}
