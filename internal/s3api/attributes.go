package s3api

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"sos/internal/s3err"
)

// maxAttributeParts is S3's default and largest x-amz-max-parts.
const maxAttributeParts = 1000

type attrPartXML struct {
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

type objectPartsXML struct {
	IsTruncated          bool          `xml:"IsTruncated"`
	MaxParts             int           `xml:"MaxParts"`
	NextPartNumberMarker int           `xml:"NextPartNumberMarker"`
	PartNumberMarker     int           `xml:"PartNumberMarker"`
	Parts                []attrPartXML `xml:"Part"`
	PartsCount           int           `xml:"PartsCount"`
}

type attrChecksumXML struct {
	CRC32        string `xml:"ChecksumCRC32,omitempty"`
	CRC32C       string `xml:"ChecksumCRC32C,omitempty"`
	CRC64NVME    string `xml:"ChecksumCRC64NVME,omitempty"`
	SHA1         string `xml:"ChecksumSHA1,omitempty"`
	SHA256       string `xml:"ChecksumSHA256,omitempty"`
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type objectAttributesXML struct {
	XMLName      xml.Name         `xml:"GetObjectAttributesResponse"`
	NS           string           `xml:"xmlns,attr"`
	ETag         string           `xml:"ETag,omitempty"`
	Checksum     *attrChecksumXML `xml:"Checksum"`
	ObjectParts  *objectPartsXML  `xml:"ObjectParts"`
	StorageClass string           `xml:"StorageClass,omitempty"`
	ObjectSize   *int64           `xml:"ObjectSize"`
}

// headerInt reads an optional non-negative integer header.
func headerInt(hdr http.Header, name string, def int) (int, error) {
	v := strings.TrimSpace(hdr.Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.New(s3err.InvalidArgument, "The "+strings.ToLower(name)+" header must be a non-negative integer, not "+strconv.Quote(clip(v))+".")
	}
	return n, nil
}

func (h *Handler) getObjectAttributes(req *request) error {
	hdr := req.r.Header
	want := map[string]bool{}
	for _, v := range hdr.Values("X-Amz-Object-Attributes") {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			switch f {
			case "":
			case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
				want[f] = true
			default:
				return s3err.New(s3err.InvalidArgument, "Invalid attribute name specified: "+strconv.Quote(clip(f))+"; the attributes are ETag, Checksum, ObjectParts, StorageClass and ObjectSize.")
			}
		}
	}
	if len(want) == 0 {
		return s3err.New(s3err.InvalidArgument, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty.")
	}
	maxParts, err := headerInt(hdr, "X-Amz-Max-Parts", maxAttributeParts)
	if err != nil {
		return err
	}
	if maxParts > maxAttributeParts {
		maxParts = maxAttributeParts
	}
	marker, err := headerInt(hdr, "X-Amz-Part-Number-Marker", 0)
	if err != nil {
		return err
	}
	vid, err := versionIDParam(req)
	if err != nil {
		return err
	}
	a, err := h.objects.Attributes(req.r.Context(), req.bucket, req.key, vid)
	if err != nil {
		return err
	}
	inf := a.Info
	w := req.w.Header()
	setVersionHeader(w, inf.VersionID)
	w.Set("Last-Modified", inf.LastModified.UTC().Format(http.TimeFormat))
	out := objectAttributesXML{NS: s3NS}
	if want["ETag"] {
		out.ETag = inf.ETag
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		size := inf.Size
		out.ObjectSize = &size
	}
	if want["Checksum"] && len(inf.Checksums) > 0 {
		c := &attrChecksumXML{CRC32: inf.Checksums["CRC32"], CRC32C: inf.Checksums["CRC32C"], CRC64NVME: inf.Checksums["CRC64NVME"],
			SHA1: inf.Checksums["SHA1"], SHA256: inf.Checksums["SHA256"], ChecksumType: "FULL_OBJECT"}
		if inf.PartsCount > 0 {
			c.ChecksumType = "COMPOSITE"
		}
		out.Checksum = c
	}
	if want["ObjectParts"] && len(a.PartSizes) > 0 {
		p := &objectPartsXML{MaxParts: maxParts, PartNumberMarker: marker, PartsCount: len(a.PartSizes), Parts: []attrPartXML{}}
		for n := marker + 1; n <= len(a.PartSizes); n++ {
			if len(p.Parts) == maxParts {
				p.IsTruncated = true
				break
			}
			p.Parts = append(p.Parts, attrPartXML{PartNumber: n, Size: a.PartSizes[n-1]})
			p.NextPartNumberMarker = n
		}
		out.ObjectParts = p
	}
	return writeXML(req.w, out)
}
