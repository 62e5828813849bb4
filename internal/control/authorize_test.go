package control_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"sos/internal/control"
	"sos/internal/iam"
)

// TestAuthorize is the table of the one decision API v2 and the console
// share: who (root, a key of a role, a key whose role is gone) may do which
// operation of which service, and the words of a refusal.
func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	p := open(t, t.TempDir())
	defer p.Close()
	mkRole := func(name, doc string) string {
		t.Helper()
		r, _, err := p.CreateRole(ctx, control.RoleSpec{Name: name, Editable: true, Policy: policy(t, doc)})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	reader := mkRole("iam-reader", `{"default-service-strategy":"deny","services":{"iam":{"type":"rules","rules":[
		{"action":"allow","expression":"operation.startsWith('list-') || operation.startsWith('get-')"}]}}}`)
	office := mkRole("office", `{"default-service-strategy":"allow","services":{"iam":{"type":"rules","rules":[
		{"action":"allow","expression":"source_ip.inIpRange('10.0.0.0/8') && now < timestamp('2030-01-01T00:00:00Z')"}]}}}`)
	storage := mkRole("storage", `{"default-service-strategy":"deny","services":{"sos":{"type":"allow"}}}`)
	root, _ := p.RootCredentials()

	in2026 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	in2031 := time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		who     control.Principal
		a       control.Access
		wantErr string // "" = allowed
	}{
		{"root may do anything", control.Principal{Key: root, Root: true},
			control.Access{Service: iam.ServiceIAM, Operation: "create-api-key"}, ""},
		{"reader lists roles", control.Principal{Key: "EXOreader", RoleID: reader},
			control.Access{Service: iam.ServiceIAM, Operation: "list-iam-roles"}, ""},
		{"reader gets a key", control.Principal{Key: "EXOreader", RoleID: reader},
			control.Access{Service: iam.ServiceIAM, Operation: "get-api-key"}, ""},
		{"reader may not create a key", control.Principal{Key: "EXOreader", RoleID: reader},
			control.Access{Service: iam.ServiceIAM, Operation: "create-api-key"},
			"API key EXOreader (role iam-reader) may not create-api-key: no rule of services.iam matches create-api-key"},
		{"reader may not list usage (sos not listed, default deny)", control.Principal{Key: "EXOreader", RoleID: reader},
			control.Access{Service: iam.ServiceSOS, Operation: "list-sos-buckets-usage"},
			"API key EXOreader (role iam-reader) may not list-sos-buckets-usage: service sos is not listed: default-service-strategy deny"},
		{"storage lists usage", control.Principal{Key: "EXOstorage", RoleID: storage},
			control.Access{Service: iam.ServiceSOS, Operation: "list-sos-buckets-usage"}, ""},
		{"storage may not touch IAM", control.Principal{Key: "EXOstorage", RoleID: storage},
			control.Access{Service: iam.ServiceIAM, Operation: "list-api-keys"},
			"API key EXOstorage (role storage) may not list-api-keys: service iam is not listed: default-service-strategy deny"},
		{"office, from the office, in time", control.Principal{Key: "EXOoffice", RoleID: office},
			control.Access{Service: iam.ServiceIAM, Operation: "delete-iam-role", SourceIP: "10.1.2.3", Now: in2026}, ""},
		{"office, from elsewhere", control.Principal{Key: "EXOoffice", RoleID: office},
			control.Access{Service: iam.ServiceIAM, Operation: "delete-iam-role", SourceIP: "192.0.2.1", Now: in2026},
			"API key EXOoffice (role office) may not delete-iam-role: no rule of services.iam matches delete-iam-role"},
		{"office, too late", control.Principal{Key: "EXOoffice", RoleID: office},
			control.Access{Service: iam.ServiceIAM, Operation: "delete-iam-role", SourceIP: "10.1.2.3", Now: in2031},
			"API key EXOoffice (role office) may not delete-iam-role: no rule of services.iam matches delete-iam-role"},
		{"office: sos follows the default strategy", control.Principal{Key: "EXOoffice", RoleID: office},
			control.Access{Service: iam.ServiceSOS, Operation: "list-sos-buckets-usage", SourceIP: "192.0.2.1"}, ""},
		{"a key whose role is gone", control.Principal{Key: "EXOorphan", RoleID: "no-such-role"},
			control.Access{Service: iam.ServiceIAM, Operation: "list-iam-roles"},
			"API key EXOorphan has no role any more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Authorize(ctx, tc.who, tc.a)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var de *control.DeniedError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%T), want a *control.DeniedError", err, err)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("refusal\n got %q\nwant %q", err.Error(), tc.wantErr)
			}
		})
	}
}
