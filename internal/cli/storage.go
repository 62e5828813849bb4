package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/cobra"

	"sos/internal/bytesize"
	"sos/internal/s3client"
)

func (a *app) storageCommand() *cobra.Command {
	return group("storage", "buckets and objects in the zones' S3 endpoints",
		a.storageCreateCommand(),
		a.storageDeleteCommand(),
		a.storageListCommand(),
		a.storageUploadCommand(),
		a.storageDownloadCommand(),
		a.storageShowCommand(),
		a.storageRmCommand(),
		a.storagePresignCommand(),
		group("bucket", "bucket settings: versioning, replication",
			a.versioningCommand(),
			a.replicationCommand(),
		),
	)
}

func (a *app) storageCreateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "create [--zone ZONE] BUCKET",
		Short: "create a bucket (names are unique across all zones)",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			u, err := parseSOSURL(args[0], true)
			if err != nil {
				return err
			}
			if u.Key != "" {
				return usagef("storage create takes a bucket, not an object: %s", args[0])
			}
			z, err := a.defaultZone(ctx)
			if err != nil {
				return err
			}
			b := bucketRef{Name: u.Bucket, Zone: z}
			cl, err := a.s3For(z)
			if err != nil {
				return err
			}
			if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{
				Bucket:                    aws.String(u.Bucket),
				CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(z.Name)},
			}); err != nil {
				return s3Error(err, b, "")
			}
			info, err := a.bucketInfo(ctx, b)
			if err != nil {
				return err
			}
			return a.show(bucketView(info))
		},
	}
}

func (a *app) storageDeleteCommand() *cobra.Command {
	var recursive bool
	c := &cobra.Command{
		Use:   "delete [-r] sos://BUCKET",
		Short: "delete a bucket (-r: with every object version in it)",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			u, err := parseSOSURL(args[0], true)
			if err != nil {
				return err
			}
			if u.Key != "" {
				return usagef("storage delete takes a bucket; use storage rm for objects")
			}
			b, err := a.bucket(ctx, u.Bucket)
			if err != nil {
				return err
			}
			cl, err := a.s3For(b.Zone)
			if err != nil {
				return err
			}
			if recursive {
				entries, err := a.listVersions(ctx, cl, b, "", false)
				if err != nil {
					return err
				}
				err = a.parallelEach(ctx, len(entries), func(ctx context.Context, i int) error {
					e := entries[i]
					_, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Name), Key: aws.String(e.Key), VersionId: nonEmpty(e.VersionID)})
					return s3Error(err, b, e.Key)
				})
				if err != nil {
					return err
				}
			}
			if _, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b.Name)}); err != nil {
				var code string
				if ae := s3client.Code(err); ae == "BucketNotEmpty" {
					code = ae
				}
				if code != "" {
					return fmt.Errorf("bucket %s is not empty: use -r to delete it with everything in it", b.Name)
				}
				return s3Error(err, b, "")
			}
			return a.show(message{JSON: map[string]string{"deleted": b.Name, "zone": b.Zone.Name}})
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "delete every object version first")
	return c
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// listEntry is one row of `storage list`.
type listEntry struct {
	Key          string    `json:"key"`
	Dir          bool      `json:"dir,omitempty"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"last-modified,omitzero"`
	ETag         string    `json:"etag,omitempty"`
	VersionID    string    `json:"version-id,omitempty"`
	IsLatest     bool      `json:"is-latest,omitempty"`
	DeleteMarker bool      `json:"delete-marker,omitempty"`
	name         string    // shown name (relative to the listed prefix)
}

type listOptions struct {
	Versions bool
}

func objectsView(entries []listEntry, o listOptions) list {
	l := list{Right: []bool{false, true}, JSON: entries}
	if entries == nil {
		l.JSON = []listEntry{}
	}
	for _, e := range entries {
		name := e.name
		if name == "" {
			name = e.Key
		}
		if e.Dir {
			l.Rows = append(l.Rows, []string{"", "DIR", name})
			continue
		}
		size := bytesize.Human(e.Size)
		if e.DeleteMarker {
			size = "DEL"
		}
		row := []string{humanTime(e.LastModified), size, name}
		if o.Versions {
			flags := ""
			switch {
			case e.DeleteMarker && e.IsLatest:
				flags = "delete-marker latest"
			case e.DeleteMarker:
				flags = "delete-marker"
			case e.IsLatest:
				flags = "latest"
			}
			row = append(row, e.VersionID, flags)
		}
		l.Rows = append(l.Rows, row)
	}
	return l
}

func bucketsView(bs []bucketUsage) list {
	l := list{Right: []bool{false, false, true}, JSON: bs, Empty: "no buckets"}
	if bs == nil {
		l.JSON = []bucketUsage{}
	}
	for _, b := range bs {
		size := "-"
		if b.Size >= 0 {
			size = bytesize.Human(b.Size)
		}
		l.Rows = append(l.Rows, []string{humanTime(b.CreatedAt), b.ZoneName, size, "sos://" + b.Name})
	}
	return l
}

func (a *app) storageListCommand() *cobra.Command {
	var recursive, versions bool
	c := &cobra.Command{
		Use:     "list [-r] [--versions] [sos://BUCKET[/PREFIX]]",
		Aliases: []string{"ls"},
		Short:   "list buckets of all zones, or objects under a prefix",
		Args:    nargs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if len(args) == 0 {
				bs, err := a.allBuckets(ctx)
				if err != nil {
					return err
				}
				return a.show(bucketsView(bs))
			}
			u, err := parseSOSURL(args[0], true)
			if err != nil {
				return err
			}
			b, err := a.bucket(ctx, u.Bucket)
			if err != nil {
				return err
			}
			cl, err := a.s3For(b.Zone)
			if err != nil {
				return err
			}
			var entries []listEntry
			if versions {
				entries, err = a.listVersions(ctx, cl, b, u.Key, !recursive)
			} else {
				entries, err = listObjects(ctx, cl, b, u.Key, !recursive)
			}
			if err != nil {
				return err
			}
			if !recursive {
				// Names relative to the listed folder, as `aws s3 ls`.
				base := u.Key[:strings.LastIndex(u.Key, "/")+1]
				for i := range entries {
					entries[i].name = strings.TrimPrefix(entries[i].Key, base)
				}
			}
			return a.show(objectsView(entries, listOptions{Versions: versions}))
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "list every object under the prefix, not just one level")
	c.Flags().BoolVar(&versions, "versions", false, "list every version and delete marker")
	return c
}

// allBuckets lists the buckets of every zone: API v2's usage list, or each
// zone's ListBuckets when the control plane does not answer it.
func (a *app) allBuckets(ctx context.Context) ([]bucketUsage, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	bs, uerr := c.bucketsUsage(ctx)
	if uerr == nil {
		sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
		return bs, nil
	}
	zs, err := a.zones(ctx)
	if err != nil {
		return nil, err
	}
	var out []bucketUsage
	for _, z := range zs {
		cl, err := a.s3For(z)
		if err != nil {
			return nil, err
		}
		res, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			return nil, s3Error(err, bucketRef{Zone: z}, "")
		}
		for _, b := range res.Buckets {
			zn := aws.ToString(b.BucketRegion)
			if zn == "" {
				zn = z.Name
			}
			if zn != z.Name {
				continue
			}
			out = append(out, bucketUsage{Name: aws.ToString(b.Name), ZoneName: zn, Size: -1, CreatedAt: aws.ToTime(b.CreationDate)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func listObjects(ctx context.Context, cl *s3.Client, b bucketRef, prefix string, delimited bool) ([]listEntry, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.Name), Prefix: nonEmpty(prefix)}
	if delimited {
		in.Delimiter = aws.String("/")
	}
	var out []listEntry
	p := s3.NewListObjectsV2Paginator(cl, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Error(err, b, "")
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, listEntry{Key: aws.ToString(cp.Prefix), Dir: true})
		}
		for _, o := range page.Contents {
			out = append(out, listEntry{
				Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified),
				ETag: strings.Trim(aws.ToString(o.ETag), `"`),
			})
		}
	}
	sortEntries(out)
	return out, nil
}

func (a *app) listVersions(ctx context.Context, cl *s3.Client, b bucketRef, prefix string, delimited bool) ([]listEntry, error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(b.Name), Prefix: nonEmpty(prefix)}
	if delimited {
		in.Delimiter = aws.String("/")
	}
	var out []listEntry
	seenDir := map[string]bool{}
	for {
		page, err := cl.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, s3Error(err, b, "")
		}
		for _, cp := range page.CommonPrefixes {
			if p := aws.ToString(cp.Prefix); !seenDir[p] {
				seenDir[p] = true
				out = append(out, listEntry{Key: p, Dir: true})
			}
		}
		for _, v := range page.Versions {
			out = append(out, listEntry{
				Key: aws.ToString(v.Key), Size: aws.ToInt64(v.Size), LastModified: aws.ToTime(v.LastModified),
				ETag: strings.Trim(aws.ToString(v.ETag), `"`), VersionID: aws.ToString(v.VersionId), IsLatest: aws.ToBool(v.IsLatest),
			})
		}
		for _, m := range page.DeleteMarkers {
			out = append(out, listEntry{
				Key: aws.ToString(m.Key), LastModified: aws.ToTime(m.LastModified),
				VersionID: aws.ToString(m.VersionId), IsLatest: aws.ToBool(m.IsLatest), DeleteMarker: true,
			})
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	sortEntries(out)
	return out, nil
}

// sortEntries orders folders first, then keys; versions of a key newest first.
func sortEntries(es []listEntry) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Dir != es[j].Dir {
			return es[i].Dir
		}
		if es[i].Key != es[j].Key {
			return es[i].Key < es[j].Key
		}
		if es[i].IsLatest != es[j].IsLatest {
			return es[i].IsLatest
		}
		if !es[i].LastModified.Equal(es[j].LastModified) {
			return es[i].LastModified.After(es[j].LastModified)
		}
		return es[i].VersionID > es[j].VersionID
	})
}

// objectInfo is what `storage show sos://bucket/key` shows.
type objectInfo struct {
	Path              string            `json:"path"`
	Bucket            string            `json:"bucket"`
	Zone              string            `json:"zone"`
	Size              int64             `json:"size"`
	LastModified      time.Time         `json:"last-modified"`
	ETag              string            `json:"etag"`
	VersionID         string            `json:"version-id,omitempty"`
	ContentType       string            `json:"content-type"`
	Metadata          map[string]string `json:"metadata"`
	ReplicationStatus string            `json:"replication-status,omitempty"`
}

func objectView(o objectInfo) record {
	var meta []string
	for k, v := range o.Metadata {
		meta = append(meta, k+"="+v)
	}
	sort.Strings(meta)
	fs := []field{
		{Key: "Path", Value: o.Path},
		{Key: "Bucket", Value: o.Bucket},
		{Key: "Zone", Value: o.Zone},
		{Key: "Size", Value: bytesize.Human(o.Size)},
		{Key: "Last Modified", Value: humanTime(o.LastModified)},
		{Key: "ETag", Value: o.ETag},
		{Key: "Version ID", Value: orNA(o.VersionID)},
		{Key: "Content-Type", Value: o.ContentType},
		{Key: "Metadata", Value: orNA(strings.Join(meta, "\n"))},
	}
	if o.ReplicationStatus != "" {
		fs = append(fs, field{Key: "Replication Status", Value: o.ReplicationStatus})
	}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	return record{Fields: fs, JSON: o}
}

func (a *app) storageShowCommand() *cobra.Command {
	var versionID string
	c := &cobra.Command{
		Use:   "show sos://BUCKET[/KEY]",
		Short: "show an object (with its replication status) or a bucket",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			u, err := parseSOSURL(args[0], true)
			if err != nil {
				return err
			}
			b, err := a.bucket(ctx, u.Bucket)
			if err != nil {
				return err
			}
			if u.Key == "" {
				info, err := a.bucketInfo(ctx, b)
				if err != nil {
					return err
				}
				return a.show(bucketView(info))
			}
			cl, err := a.s3For(b.Zone)
			if err != nil {
				return err
			}
			h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.Name), Key: aws.String(u.Key), VersionId: nonEmpty(versionID)})
			if err != nil {
				return s3Error(err, b, u.Key)
			}
			return a.show(objectView(objectInfo{
				Path: u.Key, Bucket: b.Name, Zone: b.Zone.Name,
				Size: aws.ToInt64(h.ContentLength), LastModified: aws.ToTime(h.LastModified),
				ETag: strings.Trim(aws.ToString(h.ETag), `"`), VersionID: aws.ToString(h.VersionId),
				ContentType: aws.ToString(h.ContentType), Metadata: h.Metadata,
				ReplicationStatus: string(h.ReplicationStatus),
			}))
		},
	}
	c.Flags().StringVar(&versionID, "version-id", "", "show this version")
	return c
}

func (a *app) storageRmCommand() *cobra.Command {
	var recursive bool
	var versionID string
	c := &cobra.Command{
		Use:   "rm [-r] [--version-id ID] sos://BUCKET/KEY",
		Short: "delete objects (a delete marker in versioned buckets)",
		Args:  nargs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			type target struct {
				b   bucketRef
				key string
			}
			var targets []target
			for _, arg := range args {
				u, err := parseSOSURL(arg, false)
				if err != nil {
					return err
				}
				if u.Key == "" && !recursive {
					return usagef("%s names a bucket: use -r to delete every object in it, or storage delete", arg)
				}
				b, err := a.bucket(ctx, u.Bucket)
				if err != nil {
					return err
				}
				if !recursive {
					targets = append(targets, target{b, u.Key})
					continue
				}
				cl, err := a.s3For(b.Zone)
				if err != nil {
					return err
				}
				entries, err := listObjects(ctx, cl, b, u.Key, false)
				if err != nil {
					return err
				}
				for _, e := range entries {
					targets = append(targets, target{b, e.Key})
				}
			}
			if versionID != "" && len(targets) != 1 {
				return usagef("--version-id needs exactly one object")
			}
			var mu sync.Mutex
			var deleted []string
			err := a.parallelEach(ctx, len(targets), func(ctx context.Context, i int) error {
				t := targets[i]
				cl, err := a.s3For(t.b.Zone)
				if err != nil {
					return err
				}
				if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.b.Name), Key: aws.String(t.key), VersionId: nonEmpty(versionID)}); err != nil {
					return s3Error(err, t.b, t.key)
				}
				mu.Lock()
				deleted = append(deleted, "sos://"+t.b.Name+"/"+t.key)
				mu.Unlock()
				return nil
			})
			sort.Strings(deleted)
			if deleted == nil {
				deleted = []string{}
			}
			if a.out != formatTable {
				// Scripts get what was deleted: JSON, or one URL a line.
				if jerr := a.show(message{Text: strings.Join(deleted, "\n"), JSON: map[string]any{"deleted": deleted}}); jerr != nil {
					return jerr
				}
			}
			return err
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "delete every object under the prefix")
	c.Flags().StringVar(&versionID, "version-id", "", "delete this version for good (no delete marker)")
	return c
}

func (a *app) storagePresignCommand() *cobra.Command {
	var expires time.Duration
	var method string
	c := &cobra.Command{
		Use:   "presign [--expires 1h] [--method get|put] sos://BUCKET/KEY",
		Short: "print a presigned URL for an object",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			u, err := parseSOSURL(args[0], false)
			if err != nil {
				return err
			}
			if u.Key == "" {
				return usagef("presign needs an object: sos://bucket/key")
			}
			if expires <= 0 || expires > 7*24*time.Hour {
				return usagef("--expires must be between 1s and 168h")
			}
			b, err := a.bucket(ctx, u.Bucket)
			if err != nil {
				return err
			}
			cl, err := a.s3For(b.Zone)
			if err != nil {
				return err
			}
			ps := s3.NewPresignClient(cl, s3.WithPresignExpires(expires))
			var url string
			switch strings.ToLower(method) {
			case "get":
				r, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Name), Key: aws.String(u.Key)})
				if err != nil {
					return err
				}
				url = r.URL
			case "put":
				r, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Name), Key: aws.String(u.Key)})
				if err != nil {
					return err
				}
				url = r.URL
			default:
				return usagef("--method must be get or put, not %q", method)
			}
			return a.show(message{Text: url, JSON: map[string]any{"url": url, "method": strings.ToUpper(method), "expires": time.Now().Add(expires).UTC().Format(time.RFC3339)}})
		},
	}
	c.Flags().DurationVarP(&expires, "expires", "e", time.Hour, "how long the URL works")
	c.Flags().StringVarP(&method, "method", "m", "get", "get (download) or put (upload)")
	return c
}

// parallelEach runs fn for 0..n-1 with up to a.parallel at once and
// returns the first error after all have run (every failure is reported on
// stderr when there are several).
func (a *app) parallelEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	workers := a.parallel
	if workers < 1 {
		workers = 4
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return failed[0]
	}
	return &manyErrors{errs: failed, n: n}
}

// manyErrors is the failures of several parallel steps, one per line.
type manyErrors struct {
	errs []error
	n    int
}

func (e *manyErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d failed:", len(e.errs), e.n)
	for _, err := range e.errs {
		b.WriteString("\n  " + err.Error())
	}
	return b.String()
}

func (e *manyErrors) Unwrap() []error { return e.errs }
