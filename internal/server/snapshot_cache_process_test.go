package server_test

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// A zone restarted while the control plane is down serves with the
// snapshot it cached in its data folder (keys, policies, buckets), says it
// does, reports the control plane unreachable, and takes the control
// plane's state again when it is back.
func TestZoneRestartsWithTheControlPlaneDown(t *testing.T) {
	ctx := context.Background()
	d := startControlZones(t, "ch-dk-2")
	ch := d.zones["ch-dk-2"]
	rootCH := d.s3("ch-dk-2", rootKey, rootSecret)
	roleID := d.root().createRole(t, "replication-my-source-my-destination", seedRolePolicy, true)
	_, err := rootCH.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("my-source")})
	wantOK(t, "create my-source", err)
	wantOK(t, "put my-source/config.json", putString(ctx, rootCH, "my-source", "config.json", "source data"))
	key, secret := d.root().createKey(t, "replication", roleID)
	roleCH := d.s3("ch-dk-2", key, secret)
	pollUntil(t, 30*time.Second, func() string {
		if _, err := getString(ctx, roleCH, "my-source", "config.json"); err != nil {
			return "the new key does not read my-source/config.json: " + err.Error()
		}
		return ""
	})

	d.control.kill(syscall.SIGKILL)
	ch.restart(t)

	got, err := getString(ctx, roleCH, "my-source", "config.json")
	wantOK(t, "role key get-object after a zone restart with the control plane down", err)
	if err == nil && got != "source data" {
		t.Errorf("get-object my-source/config.json = %q", got)
	}
	wantS3Code(t, "role key put-object (denied by the cached policy)", putString(ctx, roleCH, "my-source", "x", "x"), "AccessDenied")
	if v, ok := promValue(t, ch.url(), "sos_control_plane_reachable"); !ok || v != 0 {
		t.Errorf("sos_control_plane_reachable = %v (present %v) while serving from the cache, want 0", v, ok)
	}
	if !strings.Contains(ch.output(), "serving from the cached snapshot") {
		t.Errorf("the zone does not log that it serves from its cached snapshot:\n%s", ch.output())
	}
	if t.Failed() {
		t.FailNow()
	}

	d.startControl(t)
	pollUntil(t, 30*time.Second, func() string {
		if v, ok := promValue(t, ch.url(), "sos_control_plane_reachable"); !ok || v != 1 {
			return "sos_control_plane_reachable is not back to 1 with the control plane restarted"
		}
		return ""
	})
	d.root().must(t, http.MethodDelete, "/v2/api-key/"+key, nil, nil)
	pollUntil(t, 30*time.Second, func() string {
		_, err := getString(ctx, roleCH, "my-source", "config.json")
		if _, status := s3Code(err); status != http.StatusForbidden {
			return "the revoked key is not refused"
		}
		return ""
	})
}
