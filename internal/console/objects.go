package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type objectRow struct {
	Key         string // full key
	Name        string // the part after the prefix
	Size        int64
	Modified    time.Time
	Replication string // PENDING, COMPLETED, FAILED, REPLICA or ""
	Problem     string
}

type crumb struct {
	Name, Prefix string
}

type objectsPage struct {
	Bucket      bucketHeader
	Prefix      string
	Crumbs      []crumb
	Folders     []crumb
	Objects     []objectRow
	NextToken   string
	Error       string // listing refused
	UploadError string
}

const pageSize = 200

func (c *console) objectsData(r *http.Request, zc *zoneClient, h bucketHeader, prefix, token string) objectsPage {
	p := objectsPage{Bucket: h, Prefix: prefix}
	p.Crumbs = append(p.Crumbs, crumb{Name: h.Name, Prefix: ""})
	acc := ""
	for _, part := range strings.SplitAfter(prefix, "/") {
		if part == "" {
			continue
		}
		acc += part
		p.Crumbs = append(p.Crumbs, crumb{Name: part, Prefix: acc})
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(h.Name), Delimiter: aws.String("/"), MaxKeys: aws.Int32(pageSize)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	}
	out, err := zc.s3.ListObjectsV2(r.Context(), in)
	if err != nil {
		p.Error = zc.wrap("list-objects", err).Error()
		return p
	}
	for _, cp := range out.CommonPrefixes {
		full := aws.ToString(cp.Prefix)
		p.Folders = append(p.Folders, crumb{Name: strings.TrimPrefix(full, prefix), Prefix: full})
	}
	for _, o := range out.Contents {
		key := aws.ToString(o.Key)
		p.Objects = append(p.Objects, objectRow{Key: key, Name: strings.TrimPrefix(key, prefix), Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)})
	}
	if aws.ToBool(out.IsTruncated) {
		p.NextToken = aws.ToString(out.NextContinuationToken)
	}
	zc.replicationStatuses(r.Context(), h.Name, p.Objects, nil)
	return p
}

// replicationStatuses fills each row's replication status with a HEAD
// (ListObjects does not carry it), a few at a time. versions, when set,
// gives the version ID of each row.
func (z *zoneClient) replicationStatuses(ctx context.Context, bucket string, rows []objectRow, versions []string) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range rows {
		if versions != nil && versions[i] == "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(rows[i].Key)}
			if versions != nil {
				in.VersionId = aws.String(versions[i])
			}
			out, err := z.s3.HeadObject(ctx, in)
			if err != nil {
				rows[i].Problem = z.wrap("head-object", err).Error()
				return
			}
			rows[i].Replication = string(out.ReplicationStatus)
		}()
	}
	wg.Wait()
}

func (c *console) objectsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "objects")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := c.data(r, s, "storage", "Objects of "+h.Name)
	d.Page = c.objectsData(r, zc, h, q.Get("prefix"), q.Get("token"))
	c.render(w, http.StatusOK, "objects", d)
	return nil
}

func objectsURL(bucket, prefix string) string {
	u := bucketURL(bucket, "objects")
	if prefix != "" {
		u += "?prefix=" + url.QueryEscape(prefix)
	}
	return u
}

// upload streams a multipart/form-data upload to S3. The form's parts come
// in order: csrf (checked before anything else is read), prefix, then one
// or more files.
func (c *console) upload(w http.ResponseWriter, r *http.Request, s *session) error {
	mr, err := r.MultipartReader()
	if err != nil {
		c.csrfRefused(w, r, s)
		return nil
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" {
		c.csrfRefused(w, r, s)
		return nil
	}
	token, _ := io.ReadAll(io.LimitReader(part, 256))
	if !s.checkCSRF(string(token)) {
		c.csrfRefused(w, r, s)
		return nil
	}
	h, zc, err := c.lookupBucket(r, s, "objects")
	if err != nil {
		return err
	}
	up := manager.NewUploader(zc.s3, func(u *manager.Uploader) {
		u.PartSize = 8 << 20
		u.Concurrency = 2
	})
	prefix := ""
	var uploaded []string
	fail := func(msg string) error {
		if wantsJSON(r) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg, "field": "file"})
			return nil
		}
		p := c.objectsData(r, zc, h, prefix, "")
		p.UploadError = msg
		d := c.data(r, s, "storage", "Objects of "+h.Name)
		d.Page = p
		c.render(w, http.StatusBadRequest, "objects", d)
		return nil
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail("The upload was interrupted: " + err.Error())
		}
		switch part.FormName() {
		case "prefix":
			b, _ := io.ReadAll(io.LimitReader(part, 1024))
			prefix = string(b)
			if prefix != "" && !strings.HasSuffix(prefix, "/") {
				prefix += "/"
			}
		case "file":
			name := path.Base(strings.ReplaceAll(part.FileName(), "\\", "/"))
			if part.FileName() == "" || name == "." || name == "/" {
				continue
			}
			key := prefix + name
			ctype := part.Header.Get("Content-Type")
			if ctype == "" {
				ctype = mime.TypeByExtension(path.Ext(name))
			}
			if ctype == "" {
				ctype = "application/octet-stream"
			}
			_, err := up.Upload(r.Context(), &s3.PutObjectInput{
				Bucket: aws.String(h.Name), Key: aws.String(key), Body: part, ContentType: aws.String(ctype),
			})
			if err != nil {
				if r.Context().Err() != nil {
					return r.Context().Err()
				}
				return fail(fmt.Sprintf("%s was not uploaded: %s", name, zc.wrap("put-object", err).Error()))
			}
			uploaded = append(uploaded, name)
		}
		part.Close()
	}
	if len(uploaded) == 0 {
		return fail("Choose a file to upload.")
	}
	c.redirect(w, r, s, objectsURL(h.Name, prefix), &flash{Field: "upload", Text: "Uploaded " + strings.Join(uploaded, ", ") + "."})
	return nil
}

func (c *console) download(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "objects")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	key := q.Get("key")
	if key == "" {
		return errorPage(http.StatusBadRequest, "Which object?", "The download link names no object.")
	}
	in := &s3.GetObjectInput{Bucket: aws.String(h.Name), Key: aws.String(key)}
	if v := q.Get("version"); v != "" {
		in.VersionId = aws.String(v)
	}
	out, err := zc.s3.GetObject(r.Context(), in)
	if err != nil {
		return zc.wrap("get-object", err)
	}
	defer out.Body.Close()
	hd := w.Header()
	ctype := aws.ToString(out.ContentType)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	hd.Set("Content-Type", ctype)
	if out.ContentLength != nil {
		hd.Set("Content-Length", strconv.FormatInt(*out.ContentLength, 10))
	}
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(key)}))
	if out.ETag != nil {
		hd.Set("ETag", *out.ETag)
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, out.Body); err != nil && r.Context().Err() == nil {
		c.log.Warn("console: download interrupted", "bucket", h.Name, "key", key, "err", err)
	}
	return nil
}

func (c *console) deleteObject(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "objects")
	if err != nil {
		return err
	}
	key := r.PostForm.Get("key")
	version := r.PostForm.Get("version")
	back := objectsURL(h.Name, parentPrefix(key))
	if r.PostForm.Get("back") == "versions" {
		back = versionsURL(h.Name, key)
	}
	if key == "" {
		c.redirect(w, r, s, back, &flash{Error: true, Text: "The form names no object to delete."})
		return nil
	}
	in := &s3.DeleteObjectInput{Bucket: aws.String(h.Name), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	if _, err := zc.s3.DeleteObject(r.Context(), in); err != nil {
		err = zc.wrap("delete-object", err)
		var se *s3Error
		if errors.As(err, &se) {
			c.redirect(w, r, s, back, &flash{Error: true, Field: "object:" + key, Text: "Not deleted: " + se.Words()})
			return nil
		}
		return err
	}
	text := key + " deleted."
	if version != "" {
		text = fmt.Sprintf("Version %s of %s deleted.", version, key)
	}
	c.redirect(w, r, s, back, &flash{Text: text})
	return nil
}

func parentPrefix(key string) string {
	i := strings.LastIndex(key, "/")
	if i < 0 {
		return ""
	}
	return key[:i+1]
}

func versionsURL(bucket, key string) string {
	return bucketURL(bucket, "versions") + "?key=" + url.QueryEscape(key)
}

type versionRow struct {
	objectRow
	VersionID    string
	Latest       bool
	DeleteMarker bool
}

type versionsPage struct {
	Bucket   bucketHeader
	Key      string
	Parent   string
	Versions []versionRow
	Error    string
}

func (c *console) versionsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "objects")
	if err != nil {
		return err
	}
	key := r.URL.Query().Get("key")
	p := versionsPage{Bucket: h, Key: key, Parent: parentPrefix(key)}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(h.Name), Prefix: aws.String(key), MaxKeys: aws.Int32(1000)}
	var rows []versionRow
	for {
		out, err := zc.s3.ListObjectVersions(r.Context(), in)
		if err != nil {
			p.Error = zc.wrap("list-object-versions", err).Error()
			break
		}
		for _, v := range out.Versions {
			if aws.ToString(v.Key) != key {
				continue
			}
			rows = append(rows, versionRow{
				objectRow: objectRow{Key: key, Size: aws.ToInt64(v.Size), Modified: aws.ToTime(v.LastModified)},
				VersionID: aws.ToString(v.VersionId), Latest: aws.ToBool(v.IsLatest),
			})
		}
		for _, m := range out.DeleteMarkers {
			if aws.ToString(m.Key) != key {
				continue
			}
			rows = append(rows, versionRow{
				objectRow: objectRow{Key: key, Modified: aws.ToTime(m.LastModified)},
				VersionID: aws.ToString(m.VersionId), Latest: aws.ToBool(m.IsLatest), DeleteMarker: true,
			})
		}
		if !aws.ToBool(out.IsTruncated) || len(rows) >= 1000 {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	// Newest first, as S3 lists them; delete markers were appended after.
	sortVersions(rows)
	objs := make([]objectRow, len(rows))
	ids := make([]string, len(rows))
	for i, v := range rows {
		objs[i] = v.objectRow
		if !v.DeleteMarker {
			ids[i] = v.VersionID
		}
	}
	zc.replicationStatuses(r.Context(), h.Name, objs, ids)
	for i := range rows {
		rows[i].objectRow = objs[i]
	}
	p.Versions = rows
	d := c.data(r, s, "storage", "Versions of "+key)
	d.Page = p
	c.render(w, http.StatusOK, "versions", d)
	return nil
}

func sortVersions(rows []versionRow) {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && newer(rows[j], rows[j-1]); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

func newer(a, b versionRow) bool {
	if a.Latest != b.Latest {
		return a.Latest
	}
	if !a.Modified.Equal(b.Modified) {
		return a.Modified.After(b.Modified)
	}
	return a.VersionID > b.VersionID
}
