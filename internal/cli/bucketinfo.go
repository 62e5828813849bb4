package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/s3client"
)

// bucketInfo is what `storage create` and `storage show sos://bucket` show:
// exo's fields (name, zone, ACL, CORS, object ownership), then versioning
// and replication.
type bucketInfo struct {
	Name            string     `json:"name"`
	Zone            string     `json:"zone"`
	ACL             *bucketACL `json:"acl"`
	CORS            []corsRule `json:"cors"`
	ObjectOwnership string     `json:"object-ownership"`
	Versioning      string     `json:"versioning"`
	Replication     string     `json:"replication"`
}

// bucketACL lists the grantees of each permission (nil: not readable).
type bucketACL struct {
	Read        []string `json:"read"`
	Write       []string `json:"write"`
	ReadACP     []string `json:"read-acp"`
	WriteACP    []string `json:"write-acp"`
	FullControl []string `json:"full-control"`
}

type corsRule struct {
	AllowedOrigins []string `json:"allowed-origins"`
	AllowedMethods []string `json:"allowed-methods"`
	AllowedHeaders []string `json:"allowed-headers,omitempty"`
	ExposeHeaders  []string `json:"expose-headers,omitempty"`
	MaxAgeSeconds  int32    `json:"max-age-seconds,omitempty"`
}

// notShown is the value of a field the key may not read.
const notShown = "n/a"

func bucketView(b bucketInfo) record {
	if b.CORS == nil {
		b.CORS = []corsRule{}
	}
	acl, aclText := notShown, notShown
	if b.ACL != nil {
		acl, aclText = aclLines(b.ACL)
	}
	cors, corsText := corsLines(b.CORS)
	return record{Title: "STORAGE", JSON: b, Fields: []field{
		{Key: "Name", Value: b.Name},
		{Key: "Zone", Value: b.Zone},
		{Key: "ACL", Value: acl, Text: aclText},
		{Key: "CORS", Value: cors, Text: corsText},
		{Key: "Object Ownership", Value: b.ObjectOwnership},
		{Key: "Versioning", Value: b.Versioning},
		{Key: "Replication", Value: b.Replication},
	}}
}

// aclLines is the ACL block as exo shows it: an empty first line (the ACL
// row itself), one aligned line per permission, "-" for nobody, and an
// empty line closing the block. The text form is one line.
func aclLines(a *bucketACL) (human, text string) {
	perms := []struct {
		name string
		who  []string
	}{
		{"Read", a.Read}, {"Write", a.Write}, {"Read ACP", a.ReadACP}, {"Write ACP", a.WriteACP}, {"Full Control", a.FullControl},
	}
	lines := []string{""}
	var parts []string
	for _, p := range perms {
		who := "-"
		if len(p.who) > 0 {
			who = strings.Join(p.who, ", ")
		}
		lines = append(lines, pad(p.name, len("Full Control"))+" "+who)
		parts = append(parts, p.name+"="+who)
	}
	lines = append(lines, "")
	return strings.Join(lines, "\n"), strings.Join(parts, "; ")
}

// corsLines shows each CORS rule, one aligned line per setting; no rules
// show nothing, as exo.
func corsLines(rules []corsRule) (human, text string) {
	if len(rules) == 0 {
		return "", ""
	}
	lines := []string{""}
	var texts []string
	for i, r := range rules {
		if i > 0 {
			lines = append(lines, "")
		}
		kv := [][2]string{
			{"Allowed Origins", strings.Join(r.AllowedOrigins, ", ")},
			{"Allowed Methods", strings.Join(r.AllowedMethods, ", ")},
			{"Allowed Headers", strings.Join(r.AllowedHeaders, ", ")},
			{"Expose Headers", strings.Join(r.ExposeHeaders, ", ")},
		}
		if r.MaxAgeSeconds > 0 {
			kv = append(kv, [2]string{"Max Age", fmt.Sprintf("%ds", r.MaxAgeSeconds)})
		}
		var parts []string
		for _, p := range kv {
			if p[1] == "" {
				continue
			}
			lines = append(lines, pad(p[0], len("Allowed Origins"))+" "+p[1])
			parts = append(parts, p[0]+"="+p[1])
		}
		texts = append(texts, strings.Join(parts, "; "))
	}
	return strings.Join(lines, "\n"), strings.Join(texts, " | ")
}

// granteeName names a grantee as exo does: the canonical user's ID, the
// group's last path element (AllUsers), or the e-mail address.
func granteeName(g *types.Grantee) string {
	if g == nil {
		return "?"
	}
	switch {
	case aws.ToString(g.ID) != "":
		return aws.ToString(g.ID)
	case aws.ToString(g.URI) != "":
		u := aws.ToString(g.URI)
		return u[strings.LastIndex(u, "/")+1:]
	case aws.ToString(g.EmailAddress) != "":
		return aws.ToString(g.EmailAddress)
	}
	return aws.ToString(g.DisplayName)
}

func aclFromGrants(grants []types.Grant) *bucketACL {
	a := &bucketACL{Read: []string{}, Write: []string{}, ReadACP: []string{}, WriteACP: []string{}, FullControl: []string{}}
	for _, g := range grants {
		who := granteeName(g.Grantee)
		switch g.Permission {
		case types.PermissionRead:
			a.Read = append(a.Read, who)
		case types.PermissionWrite:
			a.Write = append(a.Write, who)
		case types.PermissionReadAcp:
			a.ReadACP = append(a.ReadACP, who)
		case types.PermissionWriteAcp:
			a.WriteACP = append(a.WriteACP, who)
		case types.PermissionFullControl:
			a.FullControl = append(a.FullControl, who)
		}
	}
	return a
}

// isDenied reports whether an S3 call failed with 403: a field the key may
// not read is shown as n/a rather than failing the whole command.
func isDenied(err error) bool {
	_, status := responseRegion(err)
	return status == http.StatusForbidden || s3client.Code(err) == "AccessDenied"
}

// bucketInfo reads a bucket's settings with one request each, at once.
func (a *app) bucketInfo(ctx context.Context, b bucketRef) (bucketInfo, error) {
	cl, err := a.s3For(b.Zone)
	if err != nil {
		return bucketInfo{}, err
	}
	name := aws.String(b.Name)
	info := bucketInfo{Name: b.Name, Zone: b.Zone.Name, CORS: []corsRule{}, ObjectOwnership: notShown, Versioning: notShown, Replication: notShown}
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		v, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: name})
		switch {
		case err == nil && v.Status != "":
			info.Versioning = string(v.Status)
		case err == nil:
			info.Versioning = "Unversioned"
		case !isDenied(err):
			fail(s3Error(err, b, ""))
		}
	})
	wg.Go(func() {
		acl, err := cl.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: name})
		switch {
		case err == nil:
			info.ACL = aclFromGrants(acl.Grants)
		case !isDenied(err):
			fail(s3Error(err, b, ""))
		}
	})
	wg.Go(func() {
		cors, err := cl.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: name})
		switch {
		case err == nil:
			for _, r := range cors.CORSRules {
				info.CORS = append(info.CORS, corsRule{AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
					AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: aws.ToInt32(r.MaxAgeSeconds)})
			}
		case s3client.Code(err) == "NoSuchCORSConfiguration", isDenied(err):
		default:
			fail(s3Error(err, b, ""))
		}
	})
	wg.Go(func() {
		oc, err := cl.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: name})
		switch {
		case err == nil && oc.OwnershipControls != nil && len(oc.OwnershipControls.Rules) > 0:
			info.ObjectOwnership = string(oc.OwnershipControls.Rules[0].ObjectOwnership)
		case err == nil, s3client.Code(err) == "OwnershipControlsNotFoundError":
			// S3's default for new buckets (ACLs disabled).
			info.ObjectOwnership = string(types.ObjectOwnershipBucketOwnerEnforced)
		case !isDenied(err):
			fail(s3Error(err, b, ""))
		}
	})
	wg.Go(func() {
		rc, err := a.replFor(b.Zone)
		if err != nil {
			return
		}
		cfg, err := rc.GetConfig(ctx, b.Name)
		switch {
		case err == nil:
			info.Replication = fmt.Sprintf("%d rule(s), role %s", len(cfg.Rules), cfg.Role)
		case s3client.Code(err) == "ReplicationConfigurationNotFoundError":
			info.Replication = "none"
		}
	})
	wg.Wait()
	if len(errs) > 0 {
		return info, errs[0]
	}
	if info.ACL == nil && info.Versioning == notShown && info.ObjectOwnership == notShown {
		// Nothing readable: say so rather than show a table of n/a (the
		// zone itself may be a guess).
		_, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: name})
		return info, s3Error(err, b, "")
	}
	return info, nil
}
