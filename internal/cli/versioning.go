package cli

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/cobra"
)

type versioningInfo struct {
	Bucket     string `json:"bucket"`
	Zone       string `json:"zone"`
	Versioning string `json:"versioning"`
}

func versioningView(v versioningInfo) record {
	return record{JSON: v, Fields: []field{
		{Key: "Bucket", Value: v.Bucket},
		{Key: "Zone", Value: v.Zone},
		{Key: "Versioning", Value: v.Versioning},
	}}
}

func (a *app) versioningCommand() *cobra.Command {
	set := func(use, short string, status types.BucketVersioningStatus) *cobra.Command {
		return &cobra.Command{
			Use:   use + " [--zone ZONE] BUCKET",
			Short: short,
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
				cl, err := a.s3For(b.Zone)
				if err != nil {
					return err
				}
				if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
					Bucket:                  aws.String(b.Name),
					VersioningConfiguration: &types.VersioningConfiguration{Status: status},
				}); err != nil {
					return s3Error(err, b, "")
				}
				v := versioningInfo{Bucket: b.Name, Zone: b.Zone.Name, Versioning: string(status)}
				if a.out == formatTable {
					return nil // as exo: silence is success
				}
				return a.show(versioningView(v))
			},
		}
	}
	status := &cobra.Command{
		Use:   "status [--zone ZONE] BUCKET",
		Short: "show a bucket's versioning state",
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
			cl, err := a.s3For(b.Zone)
			if err != nil {
				return err
			}
			res, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b.Name)})
			if err != nil {
				return s3Error(err, b, "")
			}
			v := versioningInfo{Bucket: b.Name, Zone: b.Zone.Name, Versioning: string(res.Status)}
			if v.Versioning == "" {
				v.Versioning = "Unversioned"
			}
			return a.show(versioningView(v))
		},
	}
	return group("versioning", "bucket versioning: enable, suspend, status",
		set("enable", "enable versioning (needed by replication)", types.BucketVersioningStatusEnabled),
		set("suspend", "suspend versioning (new writes get the null version)", types.BucketVersioningStatusSuspended),
		status,
	)
}
