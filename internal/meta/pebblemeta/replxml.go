package pebblemeta

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"sos/internal/meta"
)

// Bucket records of format 1 held the replication configuration as the S3
// XML that the s3api layer rendered (replconfig's canonical form, checked
// before it was stored). These types read that XML, element names as S3's
// ReplicationConfiguration; they only read, and never change: new records
// are written in format 2.
type xmlReplication struct {
	XMLName xml.Name  `xml:"ReplicationConfiguration"`
	Role    string    `xml:"Role"`
	Rules   []xmlRule `xml:"Rule"`
}

type xmlRule struct {
	ID                        string     `xml:"ID"`
	Priority                  *int       `xml:"Priority"`
	Status                    string     `xml:"Status"`
	Prefix                    *string    `xml:"Prefix"`
	Filter                    *xmlFilter `xml:"Filter"`
	DeleteMarkerReplication   *xmlStatus `xml:"DeleteMarkerReplication"`
	ExistingObjectReplication *xmlStatus `xml:"ExistingObjectReplication"`
	Destination               struct {
		Bucket       string `xml:"Bucket"`
		StorageClass string `xml:"StorageClass"`
	} `xml:"Destination"`
}

type xmlStatus struct {
	Status string `xml:"Status"`
}

type xmlFilter struct {
	Prefix *string `xml:"Prefix"`
	Tag    *xmlTag `xml:"Tag"`
	And    *struct {
		Prefix *string  `xml:"Prefix"`
		Tags   []xmlTag `xml:"Tag"`
	} `xml:"And"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// decodeReplicationXML reads the replication configuration of a format 1
// bucket record.
func decodeReplicationXML(raw string) (*meta.ReplicationConfig, error) {
	if raw == "" {
		return nil, errors.New("replication configuration is marked present but empty")
	}
	var x xmlReplication
	if err := xml.NewDecoder(strings.NewReader(raw)).Decode(&x); err != nil {
		return nil, fmt.Errorf("replication configuration (S3 XML of format 1): %w", err)
	}
	c := &meta.ReplicationConfig{Role: x.Role}
	if len(x.Rules) > 0 {
		c.Rules = make([]meta.ReplicationRule, len(x.Rules))
	}
	status := func(s *xmlStatus) string {
		if s == nil {
			return ""
		}
		return s.Status
	}
	for i, xr := range x.Rules {
		r := meta.ReplicationRule{
			ID: xr.ID, Priority: xr.Priority, Status: xr.Status, Prefix: xr.Prefix,
			DeleteMarkerReplication:   status(xr.DeleteMarkerReplication),
			ExistingObjectReplication: status(xr.ExistingObjectReplication),
			Destination:               xr.Destination.Bucket,
			StorageClass:              xr.Destination.StorageClass,
		}
		if xf := xr.Filter; xf != nil {
			f := &meta.ReplicationFilter{Prefix: xf.Prefix}
			if xf.Tag != nil {
				f.Tag = &meta.ReplicationTag{Key: xf.Tag.Key, Value: xf.Tag.Value}
			}
			if xf.And != nil {
				f.And = &meta.ReplicationAnd{Prefix: xf.And.Prefix}
				for _, t := range xf.And.Tags {
					f.And.Tags = append(f.And.Tags, meta.ReplicationTag{Key: t.Key, Value: t.Value})
				}
			}
			r.Filter = f
		}
		c.Rules[i] = r
	}
	return c, nil
}
