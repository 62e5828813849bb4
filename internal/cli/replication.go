package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"sos/internal/bytesize"
	"sos/internal/replconfig"
	"sos/internal/repldiff"
	"sos/internal/s3client"
)

func replStatusView(s s3client.ReplicationStatus) view {
	rs := records{JSON: s}
	for i := range s.Rules {
		r := &s.Rules[i]
		oldest := "-"
		if r.Pending > 0 {
			oldest = humanAge(r.OldestPendingSeconds)
		}
		if r.Failures == nil {
			r.Failures = []s3client.FailureInfo{}
		}
		fs := []field{
			{Key: "Rule", Value: r.ID},
			{Key: "Destination", Value: r.Destination},
			{Key: "Status", Value: r.Status},
			{Key: "Pending", Value: fmt.Sprint(r.Pending)},
			{Key: "Pending Bytes", Value: bytesize.Human(r.PendingBytes)},
			{Key: "Oldest Pending", Value: oldest},
			{Key: "Completed", Value: fmt.Sprint(r.Completed)},
			{Key: "Failed", Value: fmt.Sprint(r.Failed)},
		}
		if len(r.Failures) > 0 {
			var lines []string
			for i := range r.Failures {
				f := &r.Failures[i]
				lines = append(lines, fmt.Sprintf("%s (version %s): %s", f.Key, f.VersionID, f.Reason))
			}
			fs = append(fs, field{Key: "Failures", Value: strings.Join(lines, "\n")})
		}
		rs.Items = append(rs.Items, record{Fields: fs})
	}
	if len(rs.Items) == 0 {
		return message{Text: "sos://" + s.Bucket + " replicates nothing", JSON: s}
	}
	return rs
}

func diffView(src, dst string, diffs []repldiff.Difference) view {
	type jd struct {
		Key         string            `json:"key"`
		VersionID   string            `json:"version-id"`
		Kind        string            `json:"kind"`
		Description string            `json:"description"`
		Source      *repldiff.Version `json:"source,omitempty"`
		Destination *repldiff.Version `json:"destination,omitempty"`
	}
	out := struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
		Differences []jd   `json:"differences"`
	}{Source: src, Destination: dst, Differences: []jd{}}
	l := list{JSON: &out}
	for _, d := range diffs {
		out.Differences = append(out.Differences, jd{d.Key, d.VersionID, d.Kind.String(), d.String(), d.Source, d.Destination})
		l.Rows = append(l.Rows, []string{d.String()})
	}
	if len(diffs) == 0 {
		l.Empty = fmt.Sprintf("%s and %s hold the same versions", src, dst)
	} else {
		l.Rows = append(l.Rows, []string{fmt.Sprintf("%d difference(s) between %s and %s", len(diffs), src, dst)})
	}
	return l
}

func (a *app) replicationCommand() *cobra.Command {
	bucketArg := func(cmd *cobra.Command, arg string) (bucketRef, error) {
		u, err := parseSOSURL(arg, true)
		if err != nil {
			return bucketRef{}, err
		}
		if u.Key != "" {
			return bucketRef{}, usagef("%s: replication is set on a bucket, not an object", arg)
		}
		return a.bucket(cmd.Context(), u.Bucket)
	}
	replArg := func(cmd *cobra.Command, arg string) (bucketRef, *s3client.Replication, error) {
		b, err := bucketArg(cmd, arg)
		if err != nil {
			return b, nil, err
		}
		rc, err := a.replFor(b.Zone)
		return b, rc, err
	}
	set := &cobra.Command{
		Use:   "set [--zone ZONE] sos://BUCKET CONFIG.json",
		Short: "set a bucket's replication configuration from the seed's JSON form",
		Args:  nargs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[1] == "-" {
				data, err = io.ReadAll(a.io.Stdin)
			} else {
				data, err = os.ReadFile(args[1])
			}
			if err != nil {
				return err
			}
			cfg, err := replconfig.ParseJSON(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[1], err)
			}
			b, rc, err := replArg(cmd, args[0])
			if err != nil {
				return err
			}
			if err := rc.PutConfig(cmd.Context(), b.Name, cfg); err != nil {
				return replError(err, b)
			}
			if a.out == formatTable {
				return nil
			}
			return a.show(replicationConfigView(cfg))
		},
	}
	show := &cobra.Command{
		Use:   "show [--zone ZONE] sos://BUCKET",
		Short: "show a bucket's replication configuration (as JSON)",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, rc, err := replArg(cmd, args[0])
			if err != nil {
				return err
			}
			cfg, err := rc.GetConfig(cmd.Context(), b.Name)
			if err != nil {
				return replError(err, b)
			}
			return a.show(replicationConfigView(cfg))
		},
	}
	del := &cobra.Command{
		Use:   "delete [--zone ZONE] sos://BUCKET",
		Short: "remove a bucket's replication configuration",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, rc, err := replArg(cmd, args[0])
			if err != nil {
				return err
			}
			if err := rc.DeleteConfig(cmd.Context(), b.Name); err != nil {
				return replError(err, b)
			}
			return a.show(message{JSON: map[string]string{"bucket": b.Name, "replication": "deleted"}})
		},
	}
	status := &cobra.Command{
		Use:   "status [--zone ZONE] sos://BUCKET",
		Short: "per rule: pending operations and bytes, oldest pending age, failures",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, rc, err := replArg(cmd, args[0])
			if err != nil {
				return err
			}
			s, err := rc.Status(cmd.Context(), b.Name)
			if err != nil {
				return replError(err, b)
			}
			return a.show(replStatusView(s))
		},
	}
	post := func(use, short, field, sentence string, call func(*s3client.Replication, context.Context, string) (int64, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " [--zone ZONE] sos://BUCKET",
			Short: short,
			Args:  nargs(1, 1),
			RunE: func(cmd *cobra.Command, args []string) error {
				b, rc, err := replArg(cmd, args[0])
				if err != nil {
					return err
				}
				n, err := call(rc, cmd.Context(), b.Name)
				if err != nil {
					return replError(err, b)
				}
				return a.show(message{Text: fmt.Sprintf(sentence, n), JSON: map[string]int64{field: n}})
			},
		}
	}
	diff := &cobra.Command{
		Use:   "diff sos://SOURCE sos://DESTINATION",
		Short: "compare two buckets version by version; exit 1 when they differ",
		Args:  nargs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var refs [2]bucketRef
			for i, arg := range args {
				u, err := parseSOSURL(arg, true)
				if err != nil {
					return err
				}
				// --zone would name one zone for both: find each bucket's own.
				zone := a.flags.Zone
				a.flags.Zone = ""
				refs[i], err = a.bucket(ctx, u.Bucket)
				a.flags.Zone = zone
				if err != nil {
					return err
				}
			}
			var listed [2][]repldiff.Version
			for i, b := range refs {
				cl, err := a.s3For(b.Zone)
				if err != nil {
					return err
				}
				if listed[i], err = repldiff.List(ctx, cl, b.Name); err != nil {
					return s3Error(err, b, "")
				}
			}
			diffs := repldiff.Diff(listed[0], listed[1])
			if err := a.show(diffView("sos://"+refs[0].Name, "sos://"+refs[1].Name, diffs)); err != nil {
				return err
			}
			if len(diffs) > 0 {
				return silentError{}
			}
			return nil
		},
	}
	return group("replication", "bucket replication: set, show, delete, status, resync, retry, diff",
		set, show, del, status,
		post("resync", "replicate existing versions not replicated yet (backfill)", "queued", "%d version(s) queued for replication", (*s3client.Replication).Resync),
		post("retry", "put FAILED versions back to pending", "retried", "%d failed version(s) back to pending", (*s3client.Replication).Retry),
		diff,
	)
}

func replicationConfigView(cfg *replconfig.Config) message {
	return message{Text: strings.TrimRight(string(cfg.JSON()), "\n"), JSON: cfg}
}

// replError adds what a person needs to the errors of the replication
// calls; the refusals every S3 call may meet (no such bucket, another
// zone's bucket, access denied, unreachable zone) are worded as s3Error's.
func replError(err error, b bucketRef) error {
	e := s3client.ErrorOf(err)
	switch {
	case e == nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			return s3Error(err, b, "")
		}
		return err
	case e.Code == "ReplicationConfigurationNotFoundError":
		return fmt.Errorf("bucket %s has no replication configuration", b.Name)
	case e.Code == "NoSuchBucket", e.Code == "PermanentRedirect", e.StatusCode == http.StatusMovedPermanently,
		e.StatusCode == http.StatusForbidden, e.StatusCode == http.StatusNotFound && e.Code == "":
		return s3Error(err, b, "")
	}
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	switch e.Code {
	case "InvalidRequest", "InvalidArgument", "MalformedXML", "":
		return fmt.Errorf("bucket %s: %s", b.Name, msg)
	}
	return fmt.Errorf("bucket %s: %s (%s)", b.Name, msg, e.Code)
}
