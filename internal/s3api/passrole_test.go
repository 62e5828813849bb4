package s3api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/iam"
	"sos/internal/s3client"
)

// TestReplicationRoleNotStrongerThanCaller: the Role of a replication
// configuration is who the zone's workers act as, so a key may name only a
// role that allows nothing its own role does not (issue 10: a key allowed
// put-bucket-replication on its bucket could name an all-allowing role and
// have replication write anywhere). The root key may name any role.
func TestReplicationRoleNotStrongerThanCaller(t *testing.T) {
	e := newZoneEnv(t, zone, false)
	ctx := context.Background()
	e.mkBucket("psrc", true)
	const (
		ownerRole = "44444444-4444-4444-8444-444444444444"
		weakRole  = "55555555-5555-4555-8555-555555555555"
		otherRole = "66666666-6666-4666-8666-666666666666"
		ownerKey  = "EXOownerkey000000000000000"
		ownerSec  = "owner-secret"
	)
	ownerRule := `{"action":"allow","expression":"parameters.bucket in ['psrc', 'pdst']"}`
	e.authz.Load(iam.Snapshot{
		Revision: 2, RootKey: rootKey, RootSecret: rootSecret, TempKey: e.tempKey,
		Roles: []iam.Role{
			{ID: replRole, Name: "replicator", Policy: mustPolicy(t, `{"default-service-strategy":"deny","services":{"sos":{"type":"allow"}}}`)},
			{ID: ownerRole, Name: "owner", Policy: mustPolicy(t, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[`+ownerRule+`]}}}`)},
			{ID: weakRole, Name: "weak", Policy: mustPolicy(t, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[`+ownerRule+`]}}}`)},
			{ID: otherRole, Name: "other", Policy: mustPolicy(t, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
				{"action":"allow","expression":"parameters.bucket == 'someone-elses'"}]}}}`)},
		},
		Keys: []iam.APIKey{{Key: ownerKey, Name: "owner", Secret: ownerSec, RoleID: ownerRole}},
	})
	cfg := func(role string) *s3.PutBucketReplicationInput {
		return &s3.PutBucketReplicationInput{Bucket: aws.String("psrc"), ReplicationConfiguration: &types.ReplicationConfiguration{
			Role: aws.String(role), Rules: []types.ReplicationRule{{
				ID: aws.String("r1"), Status: types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
				Filter:      &types.ReplicationRuleFilter{Prefix: aws.String("")},
				Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::pdst")},
			}}}}
	}
	owner := e.client(ownerKey, ownerSec, "")
	for _, c := range []struct {
		name, role string
		reason     string // empty: allowed
	}{
		{"all-allowing role", replRole, "role replicator allows more than role owner: services.sos allows every operation"},
		{"role with another bucket", otherRole, `role other allows more than role owner: rule services.sos.rules[0] allows "parameters.bucket == 'someone-elses'"`},
		{"role allowing what the caller's does", weakRole, ""},
		{"the caller's own role", ownerRole, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := owner.PutBucketReplication(ctx, cfg(c.role))
			if c.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			se := s3client.ErrorOf(err)
			if se == nil || se.Code != "AccessDenied" || se.DeniedOperation != "put-bucket-replication" || se.DeniedRole != "owner" ||
				!strings.HasPrefix(se.DeniedReason, c.reason) || !strings.Contains(se.Message, "may not name role "+c.role) {
				t.Fatalf("want AccessDenied because %q, got %v (%+v)", c.reason, err, se)
			}
		})
	}
	// The refused configurations were not stored: the last allowed one is.
	got, err := e.s3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("psrc")})
	if err != nil || aws.ToString(got.ReplicationConfiguration.Role) != ownerRole {
		t.Fatalf("stored: %v %+v", err, got)
	}
	// The root key may name any role.
	if _, err := e.s3.PutBucketReplication(ctx, cfg(replRole)); err != nil {
		t.Fatalf("root naming the all-allowing role: %v", err)
	}
}
