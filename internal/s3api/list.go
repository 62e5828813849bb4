package s3api

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"

	"sos/internal/object"
	"sos/internal/s3err"
)

const maxListKeys = 1000

// intParam reads a non-negative integer query parameter, capped at max.
func intParam(q url.Values, name string, def, max int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.New(s3err.InvalidArgument, fmt.Sprintf("Provided %s %q is not a non-negative integer.", name, clip(v)))
	}
	if n > max {
		n = max
	}
	return n, nil
}

// encoder returns the function that encodes keys for encoding-type.
func encoder(q url.Values) (func(string) string, string, error) {
	switch et := q.Get("encoding-type"); et {
	case "":
		return func(s string) string { return s }, "", nil
	case "url":
		return s3URLEncode, "url", nil
	default:
		return nil, "", s3err.New(s3err.InvalidArgument, "Invalid Encoding Method specified in Request: encoding-type must be url.")
	}
}

func (h *Handler) list(req *request, in object.ListInput) (object.ListOutput, error) {
	if in.MaxKeys == 0 {
		return object.ListOutput{}, nil
	}
	return h.objects.ListObjects(req.r.Context(), in)
}

func objectEntries(objs []object.ObjectInfo, enc func(string) string, owner bool) []objectXML {
	out := make([]objectXML, 0, len(objs))
	for _, o := range objs {
		e := objectXML{Key: enc(o.Key), LastModified: xmlTime(o.LastModified), ETag: quoteETag(o.ETag), Size: o.Size, StorageClass: "STANDARD"}
		for alg := range o.Checksums {
			e.ChecksumAlgorithm = append(e.ChecksumAlgorithm, alg)
		}
		if owner {
			ow := theOwner
			e.Owner = &ow
		}
		out = append(out, e)
	}
	return out
}

func prefixEntries(ps []string, enc func(string) string) []commonPrefixXML {
	out := make([]commonPrefixXML, 0, len(ps))
	for _, p := range ps {
		out = append(out, commonPrefixXML{Prefix: enc(p)})
	}
	return out
}

func (h *Handler) listObjectsV1(req *request) error {
	q := req.r.URL.Query()
	enc, et, err := encoder(q)
	if err != nil {
		return err
	}
	maxKeys, err := intParam(q, "max-keys", maxListKeys, maxListKeys)
	if err != nil {
		return err
	}
	in := object.ListInput{Bucket: req.bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), StartAfter: q.Get("marker"), MaxKeys: maxKeys}
	out, err := h.list(req, in)
	if err != nil {
		return err
	}
	marker := enc(in.StartAfter)
	res := listBucketResult{
		NS: s3NS, Name: req.bucket, Prefix: enc(in.Prefix), Marker: &marker, MaxKeys: maxKeys,
		Delimiter: enc(in.Delimiter), EncodingType: et, IsTruncated: out.IsTruncated,
		Contents: objectEntries(out.Objects, enc, true), CommonPrefixes: prefixEntries(out.CommonPrefixes, enc),
	}
	if out.IsTruncated && in.Delimiter != "" {
		// S3 sends NextMarker only with a delimiter; without one the
		// client resumes from the last key.
		res.NextMarker = enc(out.NextMarker)
	}
	return writeXML(req.w, res)
}

func (h *Handler) listObjectsV2(req *request) error {
	q := req.r.URL.Query()
	enc, et, err := encoder(q)
	if err != nil {
		return err
	}
	maxKeys, err := intParam(q, "max-keys", maxListKeys, maxListKeys)
	if err != nil {
		return err
	}
	in := object.ListInput{Bucket: req.bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), StartAfter: q.Get("start-after"), MaxKeys: maxKeys}
	// An empty continuation-token= is no token, as S3 takes it (exo sends
	// one on its first page).
	token := q.Get("continuation-token")
	if token != "" {
		m, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return s3err.New(s3err.InvalidArgument, "The continuation token provided is incorrect.")
		}
		in.StartAfter = string(m)
	}
	out, err := h.list(req, in)
	if err != nil {
		return err
	}
	n := len(out.Objects) + len(out.CommonPrefixes)
	res := listBucketResult{
		NS: s3NS, Name: req.bucket, Prefix: enc(in.Prefix), StartAfter: enc(q.Get("start-after")),
		ContinuationToken: token, KeyCount: &n, MaxKeys: maxKeys,
		Delimiter: enc(in.Delimiter), EncodingType: et, IsTruncated: out.IsTruncated,
		Contents:       objectEntries(out.Objects, enc, q.Get("fetch-owner") == "true"),
		CommonPrefixes: prefixEntries(out.CommonPrefixes, enc),
	}
	if out.IsTruncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(out.NextMarker))
	}
	return writeXML(req.w, res)
}

func (h *Handler) listObjectVersions(req *request) error {
	q := req.r.URL.Query()
	enc, et, err := encoder(q)
	if err != nil {
		return err
	}
	maxKeys, err := intParam(q, "max-keys", maxListKeys, maxListKeys)
	if err != nil {
		return err
	}
	in := object.ListVersionsInput{
		Bucket: req.bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), VersionIDMarker: q.Get("version-id-marker"), MaxKeys: maxKeys,
	}
	if in.VersionIDMarker != "" && in.KeyMarker == "" {
		return s3err.New(s3err.InvalidArgument, "A version-id marker cannot be specified without a key marker.")
	}
	var out object.ListVersionsOutput
	if maxKeys > 0 {
		if out, err = h.objects.ListVersions(req.r.Context(), in); err != nil {
			return err
		}
	}
	res := listVersionsResult{
		NS: s3NS, Name: req.bucket, Prefix: enc(in.Prefix), KeyMarker: enc(in.KeyMarker),
		VersionIDMarker: in.VersionIDMarker, MaxKeys: maxKeys, Delimiter: enc(in.Delimiter),
		EncodingType: et, IsTruncated: out.IsTruncated, CommonPrefixes: prefixEntries(out.CommonPrefixes, enc),
	}
	if out.IsTruncated {
		res.NextKeyMarker, res.NextVersionIDMarker = enc(out.NextKeyMarker), out.NextVersionIDMarker
	}
	for _, v := range out.Versions {
		vid := v.VersionID
		if vid == "" {
			vid = "null"
		}
		ow := theOwner
		e := versionXML{Key: enc(v.Key), VersionID: vid, IsLatest: v.IsLatest, LastModified: xmlTime(v.LastModified), Owner: &ow}
		if v.IsDeleteMarker {
			e.XMLName.Local = "DeleteMarker"
		} else {
			size := v.Size
			e.XMLName.Local = "Version"
			e.ETag, e.Size, e.StorageClass = quoteETag(v.ETag), &size, "STANDARD"
		}
		res.Entries = append(res.Entries, e)
	}
	return writeXML(req.w, res)
}

func (h *Handler) listUploads(req *request) error {
	q := req.r.URL.Query()
	enc, et, err := encoder(q)
	if err != nil {
		return err
	}
	maxUploads, err := intParam(q, "max-uploads", maxListKeys, maxListKeys)
	if err != nil {
		return err
	}
	in := object.ListUploadsInput{
		Bucket: req.bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: maxUploads,
	}
	var out object.ListUploadsOutput
	if maxUploads > 0 {
		if out, err = h.objects.ListUploads(req.r.Context(), in); err != nil {
			return err
		}
	}
	res := listMultipartUploadsResult{
		NS: s3NS, Bucket: req.bucket, KeyMarker: enc(in.KeyMarker), UploadIDMarker: in.UploadIDMarker,
		Prefix: enc(in.Prefix), Delimiter: enc(in.Delimiter), MaxUploads: maxUploads, EncodingType: et,
		IsTruncated: out.IsTruncated, CommonPrefixes: prefixEntries(out.CommonPrefixes, enc),
	}
	if out.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = enc(out.NextKeyMarker), out.NextUploadIDMarker
	}
	for _, u := range out.Uploads {
		res.Uploads = append(res.Uploads, uploadXML{
			Key: enc(u.Key), UploadID: u.UploadID, Initiator: theOwner, Owner: theOwner,
			StorageClass: "STANDARD", Initiated: xmlTime(u.Initiated),
		})
	}
	return writeXML(req.w, res)
}
