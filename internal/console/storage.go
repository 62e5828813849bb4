package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/bounded"
	"sos/internal/control"
	"sos/internal/iam"
	"sos/internal/replconfig"
	"sos/internal/s3client"
)

type bucketRow struct {
	Name        string
	Zone        string
	Size        int64
	Objects     int64
	HasUsage    bool
	Created     time.Time
	Versioning  string // Enabled, Suspended, Unversioned, or "" when unknown
	Replication string // words
	Problem     string // why versioning/replication are unknown
}

type bucketsPage struct {
	Buckets []bucketRow
	Notice  string // why some buckets may be missing
}

// listBuckets lists the buckets of every zone: from the control plane's
// usage listing when the user may read it (as API v2's
// list-sos-buckets-usage), else from each zone's ListBuckets.
func (c *console) listBuckets(r *http.Request, s *session) ([]bucketRow, string, error) {
	if c.authorize(r, s, control.Access{Service: iam.ServiceSOS, Operation: "list-sos-buckets-usage"}) == nil {
		usage, err := c.plane.Usage(r.Context())
		if err != nil {
			return nil, "", err
		}
		rows := make([]bucketRow, 0, len(usage))
		for _, u := range usage {
			rows = append(rows, bucketRow{Name: u.Name, Zone: u.Zone, Size: u.Size, Objects: u.Objects, HasUsage: !u.ReportedAt.IsZero(), Created: u.CreatedAt})
		}
		return rows, "", nil
	}
	var (
		mu      sync.Mutex
		rows    []bucketRow
		notices []string
		wg      sync.WaitGroup
	)
	for _, z := range c.plane.Zones() {
		zc, err := c.zoneFor(s, z.Name)
		if err != nil {
			return nil, "", err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := zc.s3.ListBuckets(r.Context(), &s3.ListBucketsInput{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				notices = append(notices, fmt.Sprintf("Zone %s: %s", z.Name, zc.wrap("list-buckets", err).Error()))
				return
			}
			for _, b := range out.Buckets {
				rows = append(rows, bucketRow{Name: aws.ToString(b.Name), Zone: z.Name, Created: aws.ToTime(b.CreationDate)})
			}
		}()
	}
	wg.Wait()
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	sort.Strings(notices)
	return rows, strings.Join(notices, " "), nil
}

// bucketState fills a row's versioning and replication from its zone.
func (c *console) bucketState(ctx context.Context, s *session, b *bucketRow) {
	zc, err := c.zoneFor(s, b.Zone)
	if err != nil {
		b.Problem = err.Error()
		return
	}
	v, err := zc.versioning(ctx, b.Name)
	if err != nil {
		b.Problem = err.Error()
		return
	}
	b.Versioning = v
	cfg, err := zc.replication(ctx, b.Name)
	switch {
	case err != nil:
		b.Replication = "unknown"
		b.Problem = err.Error()
	case cfg == nil:
		b.Replication = "None"
	default:
		b.Replication = replicationSummary(cfg)
	}
}

func replicationSummary(cfg *replconfig.Config) string {
	var dests []string
	enabled := 0
	for _, r := range cfg.Rules {
		if r.Enabled() {
			enabled++
			dests = append(dests, r.DestBucket())
		}
	}
	if enabled == 0 {
		return fmt.Sprintf("%d rule(s), all disabled", len(cfg.Rules))
	}
	return "→ " + strings.Join(dests, ", ")
}

func (z *zoneClient) versioning(ctx context.Context, bucket string) (string, error) {
	out, err := z.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		return "", z.wrap("get-bucket-versioning", err)
	}
	if out.Status == "" {
		return "Unversioned", nil
	}
	return string(out.Status), nil
}

// replication returns the bucket's configuration, nil when it has none.
func (z *zoneClient) replication(ctx context.Context, bucket string) (*replconfig.Config, error) {
	cfg, err := z.repl.GetConfig(ctx, bucket)
	err = z.wrap("get-bucket-replication", err)
	if isCode(err, "ReplicationConfigurationNotFoundError") {
		return nil, nil
	}
	return cfg, err
}

func (c *console) bucketsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	rows, notice, err := c.listBuckets(r, s)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.bucketState(ctx, s, &rows[i])
		}()
	}
	wg.Wait()
	d := c.data(r, s, "storage", "Buckets")
	d.Page = bucketsPage{Buckets: rows, Notice: notice}
	c.render(w, http.StatusOK, "buckets", d)
	return nil
}

type addBucketPage struct {
	Name   string
	Zone   string
	Zones  []control.Zone
	Errors map[string]string
}

func (c *console) addBucketPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d := c.data(r, s, "storage", "Add bucket")
	p := addBucketPage{Zones: c.plane.Zones(), Zone: r.URL.Query().Get("zone")}
	if p.Zone == "" && len(p.Zones) > 0 {
		p.Zone = p.Zones[0].Name
	}
	d.Page = p
	c.render(w, http.StatusOK, "bucket_add", d)
	return nil
}

func (c *console) addBucket(w http.ResponseWriter, r *http.Request, s *session) error {
	p := addBucketPage{
		Name:   strings.TrimSpace(r.PostForm.Get("name")),
		Zone:   r.PostForm.Get("zone"),
		Zones:  c.plane.Zones(),
		Errors: map[string]string{},
	}
	if err := control.ValidBucketName(p.Name); err != nil {
		p.Errors["name"] = ensureStop(strings.ToUpper(err.Error()[:1]) + err.Error()[1:])
	}
	if _, ok := c.plane.Zone(p.Zone); !ok {
		p.Errors["zone"] = "Pick one of the zones."
	}
	if len(p.Errors) == 0 {
		zc, err := c.zoneFor(s, p.Zone)
		if err != nil {
			return err
		}
		_, err = zc.s3.CreateBucket(r.Context(), &s3.CreateBucketInput{
			Bucket: aws.String(p.Name),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{
				LocationConstraint: types.BucketLocationConstraint(p.Zone),
			},
		})
		if err == nil {
			c.redirect(w, r, s, bucketURL(p.Name, ""), &flash{Text: fmt.Sprintf("Bucket %s created in zone %s.", p.Name, p.Zone)})
			return nil
		}
		err = zc.wrap("create-bucket", err)
		var se *s3Error
		if !errors.As(err, &se) {
			return err
		}
		p.Errors["name"] = se.Words()
	}
	d := c.data(r, s, "storage", "Add bucket")
	d.Page = p
	c.render(w, http.StatusBadRequest, "bucket_add", d)
	return nil
}

func bucketURL(bucket, tab string) string {
	u := "/storage/b/" + url.PathEscape(bucket)
	if tab != "" {
		u += "/" + tab
	}
	return u
}

// bucketHeader is what every tab of a bucket shows.
type bucketHeader struct {
	Name       string
	Zone       string
	Endpoint   string
	Created    time.Time
	Size       int64
	Objects    int64
	HasUsage   bool
	Versioning string
	Tab        string
}

// lookupBucket finds a bucket's zone in the control plane's registry.
func (c *console) lookupBucket(r *http.Request, s *session, tab string) (bucketHeader, *zoneClient, error) {
	name := r.PathValue("bucket")
	usage, err := c.plane.Usage(r.Context())
	if err != nil {
		return bucketHeader{}, nil, err
	}
	for _, u := range usage {
		if u.Name != name {
			continue
		}
		zc, err := c.zoneFor(s, u.Zone)
		if err != nil {
			return bucketHeader{}, nil, err
		}
		return bucketHeader{
			Name: name, Zone: u.Zone, Endpoint: zc.endpoint, Created: u.CreatedAt, Size: u.Size,
			Objects: u.Objects, HasUsage: !u.ReportedAt.IsZero(), Tab: tab,
		}, zc, nil
	}
	return bucketHeader{}, nil, errorPage(http.StatusNotFound, "No such bucket", "There is no bucket named %q in any zone.", name)
}

type bucketPage struct {
	Bucket      bucketHeader
	Replication string
	Problem     string
}

func (c *console) bucketPage(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "overview")
	if err != nil {
		return err
	}
	p := bucketPage{Bucket: h}
	if v, err := zc.versioning(r.Context(), h.Name); err != nil {
		p.Problem = err.Error()
	} else {
		p.Bucket.Versioning = v
	}
	if cfg, err := zc.replication(r.Context(), h.Name); err != nil {
		p.Replication = "unknown: " + err.Error()
	} else if cfg == nil {
		p.Replication = "None"
	} else {
		p.Replication = replicationSummary(cfg)
	}
	d := c.data(r, s, "storage", "Bucket "+h.Name)
	d.Page = p
	c.render(w, http.StatusOK, "bucket", d)
	return nil
}

func (c *console) setVersioning(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "")
	if err != nil {
		return err
	}
	var status types.BucketVersioningStatus
	switch r.PostForm.Get("status") {
	case "Enabled":
		status = types.BucketVersioningStatusEnabled
	case "Suspended":
		status = types.BucketVersioningStatusSuspended
	default:
		c.redirect(w, r, s, bucketURL(h.Name, ""), &flash{Error: true, Field: "versioning", Text: "Choose Enable or Suspend."})
		return nil
	}
	_, err = zc.s3.PutBucketVersioning(r.Context(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(h.Name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: status},
	})
	if err != nil {
		err = zc.wrap("put-bucket-versioning", err)
		var se *s3Error
		if errors.As(err, &se) {
			c.redirect(w, r, s, bucketURL(h.Name, ""), &flash{Error: true, Field: "versioning", Text: se.Words()})
			return nil
		}
		return err
	}
	word := "enabled"
	if status == types.BucketVersioningStatusSuspended {
		word = "suspended"
	}
	c.redirect(w, r, s, bucketURL(h.Name, ""), &flash{Field: "versioning", Text: "Versioning " + word + "."})
	return nil
}

func (c *console) deleteBucket(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "")
	if err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != h.Name {
		c.redirect(w, r, s, bucketURL(h.Name, ""), &flash{Error: true, Field: "delete", Text: "Type the bucket's name to confirm."})
		return nil
	}
	if _, err := zc.s3.DeleteBucket(r.Context(), &s3.DeleteBucketInput{Bucket: aws.String(h.Name)}); err != nil {
		err = zc.wrap("delete-bucket", err)
		var se *s3Error
		if errors.As(err, &se) {
			c.redirect(w, r, s, bucketURL(h.Name, ""), &flash{Error: true, Field: "delete", Text: se.Words()})
			return nil
		}
		return err
	}
	c.redirect(w, r, s, "/storage", &flash{Text: fmt.Sprintf("Bucket %s deleted.", h.Name)})
	return nil
}

type replicationPage struct {
	Bucket    bucketHeader
	Config    string
	HasConfig bool
	Error     string
	Status    *s3client.ReplicationStatus
	StatusErr string
}

func (c *console) replicationData(r *http.Request, zc *zoneClient, h bucketHeader) replicationPage {
	p := replicationPage{Bucket: h}
	cfg, err := zc.replication(r.Context(), h.Name)
	switch {
	case err != nil:
		p.Error = err.Error()
	case cfg != nil:
		p.Config = string(cfg.JSON())
		p.HasConfig = true
		st, err := zc.repl.Status(r.Context(), h.Name)
		if err != nil {
			p.StatusErr = zc.wrap("get-bucket-replication", err).Error()
			break
		}
		p.Status = &st
	}
	return p
}

func (c *console) replicationPage(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "replication")
	if err != nil {
		return err
	}
	d := c.data(r, s, "storage", "Replication of "+h.Name)
	d.Page = c.replicationData(r, zc, h)
	c.render(w, http.StatusOK, "replication", d)
	return nil
}

func (c *console) putReplication(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "replication")
	if err != nil {
		return err
	}
	text := r.PostForm.Get("config")
	msg := ""
	if strings.TrimSpace(text) == "" {
		msg = "Paste a replication configuration (JSON), or use Remove replication to turn it off."
	} else if err := jsonSyntax([]byte(text)); err != nil {
		msg = err.Error()
	} else if cfg, err := replconfig.ParseJSON([]byte(text)); err != nil {
		msg = replErrorWords(err)
	} else if err := zc.wrap("put-bucket-replication", zc.repl.PutConfig(r.Context(), h.Name, cfg)); err != nil {
		var se *s3Error
		if !errors.As(err, &se) {
			return err
		}
		msg = se.Words()
	} else {
		c.redirect(w, r, s, bucketURL(h.Name, "replication"), &flash{Field: "config", Text: "Replication configuration saved."})
		return nil
	}
	p := c.replicationData(r, zc, h)
	p.Config, p.Error = text, msg
	d := c.data(r, s, "storage", "Replication of "+h.Name)
	d.Page = p
	c.render(w, http.StatusBadRequest, "replication", d)
	return nil
}

// jsonSyntax checks that text is one JSON value, saying where it is not.
func jsonSyntax(text []byte) error {
	if err := bounded.CheckJSONDepth(text, replconfig.MaxDepth); err != nil {
		return fmt.Errorf("This is not a replication configuration: %v.", err)
	}
	// A RawMessage: the syntax is checked without building the value.
	var v json.RawMessage
	err := json.Unmarshal(text, &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(text, se.Offset)
		return fmt.Errorf("This is not valid JSON: %s at line %d, column %d.", strings.TrimPrefix(se.Error(), "json: "), line, col)
	}
	return fmt.Errorf("This is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

func lineCol(text []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset-1 && i < int64(len(text)); i++ {
		if text[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// replErrorWords words a replconfig error without its Go prefix.
func replErrorWords(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, replconfig.ErrMalformed):
		msg = strings.TrimPrefix(msg, replconfig.ErrMalformed.Error()+": ")
		msg = strings.TrimPrefix(msg, "json: ")
		return ensureStop("The configuration does not have the expected form: " + msg)
	case errors.Is(err, replconfig.ErrInvalid):
		msg = strings.TrimPrefix(msg, replconfig.ErrInvalid.Error()+": ")
		return ensureStop("Invalid replication configuration: " + msg)
	}
	return ensureStop(msg)
}

func (c *console) deleteReplication(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "replication")
	if err != nil {
		return err
	}
	if err := zc.wrap("delete-bucket-replication", zc.repl.DeleteConfig(r.Context(), h.Name)); err != nil {
		var se *s3Error
		if errors.As(err, &se) {
			c.redirect(w, r, s, bucketURL(h.Name, "replication"), &flash{Error: true, Field: "config", Text: se.Words()})
			return nil
		}
		return err
	}
	c.redirect(w, r, s, bucketURL(h.Name, "replication"), &flash{Field: "config", Text: "Replication removed: new writes are no longer replicated."})
	return nil
}

func (c *console) retryReplication(w http.ResponseWriter, r *http.Request, s *session) error {
	h, zc, err := c.lookupBucket(r, s, "replication")
	if err != nil {
		return err
	}
	retried, err := zc.repl.Retry(r.Context(), h.Name)
	if err = zc.wrap("retry-replication", err); err != nil {
		var se *s3Error
		if errors.As(err, &se) {
			c.redirect(w, r, s, bucketURL(h.Name, "replication"), &flash{Error: true, Field: "status", Text: se.Words()})
			return nil
		}
		return err
	}
	text := fmt.Sprintf("%d failed object version(s) queued for replication again.", retried)
	if retried == 0 {
		text = "There was nothing to retry: no object version is FAILED."
	}
	c.redirect(w, r, s, bucketURL(h.Name, "replication"), &flash{Field: "status", Text: text})
	return nil
}
