package control_test

import (
	"context"
	"errors"
	"fmt"
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

// TestAuthorizeEscalation is the table of the escalation rule: (caller's
// role, operation, target role or policy) -> allowed, or refused with the
// message. No API key may create a key bound to a role, create a role, or
// set a role's policy or permissions, that would allow more than its own
// role; IAM operations carry role-id, role-name, key and name as CEL
// parameters; the root key may do everything.
func TestAuthorizeEscalation(t *testing.T) {
	ctx := context.Background()
	p := open(t, t.TempDir())
	defer p.Close()
	const (
		admin    = `{"default-service-strategy":"allow"}`
		keyMgr   = `{"default-service-strategy":"deny","services":{"iam":{"type":"rules","rules":[{"action":"allow","expression":"operation == 'create-api-key'"}]}}}`
		storeAdm = `{"default-service-strategy":"deny","services":{"sos":{"type":"allow"},"iam":{"type":"allow"}}}`
		team     = `{"default-service-strategy":"deny","services":{
			"sos":{"type":"rules","rules":[
				{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},
				{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]},
			"iam":{"type":"rules","rules":[
				{"action":"allow","expression":"operation in ['create-api-key', 'create-iam-role', 'update-iam-role', 'update-iam-role-policy']"}]}}}`
		teamRead = `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
				{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"}]}}}`
		delegated = `{"default-service-strategy":"deny","services":{
			"sos":{"type":"allow"},
			"iam":{"type":"rules","rules":[
				{"action":"allow","expression":"operation in ['create-api-key', 'delete-api-key'] && parameters['role-name'].startsWith('team')"}]}}}`
	)
	roles := map[string]control.Role{}
	mkRole := func(name, doc string, perms ...string) {
		t.Helper()
		r, _, err := p.CreateRole(ctx, control.RoleSpec{Name: name, Editable: true, Policy: policy(t, doc), Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		roles[name] = r
	}
	mkRole("admin", admin)
	mkRole("keymgr", keyMgr)
	mkRole("storage-admin", storeAdm)
	mkRole("team", team)
	mkRole("team-read", teamRead)
	mkRole("team-locker", teamRead, "bypass-governance-retention")
	mkRole("delegated", delegated)
	key := func(role string) string {
		t.Helper()
		k, err := p.CreateAPIKey(ctx, "key of "+role, roles[role].ID)
		if err != nil {
			t.Fatal(err)
		}
		return k.Key
	}
	adminKey, teamReadKey := key("admin"), key("team-read")
	root, _ := p.RootCredentials()
	as := func(role string) control.Principal {
		if role == "root" {
			return control.Principal{Key: root, Root: true}
		}
		return control.Principal{Key: "EXO" + role, RoleID: roles[role].ID}
	}
	newKey := func(role string) control.Access {
		return control.Access{Operation: "create-api-key", RoleID: roles[role].ID, KeyName: "k"}
	}
	setPolicy := func(role, doc string) control.Access {
		return control.Access{Operation: "update-iam-role-policy", RoleID: roles[role].ID, Policy: policy(t, doc)}
	}
	newRole := func(name, doc string, perms ...string) control.Access {
		a := control.Access{Operation: "create-iam-role", RoleName: name, Permissions: perms}
		if doc != "" {
			a.Policy = policy(t, doc)
		}
		return a
	}
	for i, tc := range []struct {
		caller  string
		a       control.Access
		wantErr string // "" = allowed
	}{
		{"root", newKey("admin"), ""},
		{"root", setPolicy("team-read", admin), ""},
		{"root", newRole("r", admin, "bypass-governance-retention"), ""},
		{"admin", newKey("storage-admin"), ""},
		{"admin", setPolicy("team", admin), ""},

		// The case: a role that may only create-api-key.
		{"keymgr", newKey("admin"),
			"API key EXOkeymgr (role keymgr) may not create-api-key: role admin allows more than role keymgr: default-service-strategy allow lets every iam operation through (service iam is not listed), and role keymgr's policy does not"},
		{"keymgr", newKey("keymgr"), ""},
		{"keymgr", newKey("team-read"),
			`API key EXOkeymgr (role keymgr) may not create-api-key: role team-read allows more than role keymgr: rule services.sos.rules[0] allows "parameters.bucket == 'my-source' && operation == 'get-object'", and no allow rule of services.sos in role keymgr's policy has that expression`},
		{"keymgr", setPolicy("keymgr", admin),
			"API key EXOkeymgr (role keymgr) may not update-iam-role-policy: no rule of services.iam matches update-iam-role-policy on role keymgr"},

		{"team", newKey("team"), ""},
		{"team", newKey("team-read"), ""},
		{"team", newKey("storage-admin"),
			"API key EXOteam (role team) may not create-api-key: role storage-admin allows more than role team: services.iam allows every operation, and role team's policy does not"},
		{"team", newKey("team-locker"),
			"API key EXOteam (role team) may not create-api-key: role team-locker has permission bypass-governance-retention, which role team has not"},
		{"team", setPolicy("team-read", team), ""},
		{"team", setPolicy("team-read", admin),
			"API key EXOteam (role team) may not update-iam-role-policy: the new policy of role team-read would allow more than role team: default-service-strategy allow lets every iam operation through (service iam is not listed), and role team's policy does not"},
		{"team", setPolicy("team-read", `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
				{"action":"allow","expression":"operation == 'delete-object'"}]}}}`),
			`API key EXOteam (role team) may not update-iam-role-policy: the new policy of role team-read would allow more than role team: rule services.sos.rules[0] allows "operation == 'delete-object'", and no allow rule of services.sos in role team's policy has that expression`},
		{"team", newRole("team-new", ""), ""},
		{"team", newRole("team-new", teamRead), ""},
		{"team", newRole("team-new", storeAdm),
			"API key EXOteam (role team) may not create-iam-role: the policy of the new role team-new would allow more than role team: services.iam allows every operation, and role team's policy does not"},
		{"team", newRole("team-new", "", "bypass-governance-retention"),
			"API key EXOteam (role team) may not create-iam-role: the new role team-new would have permission bypass-governance-retention, which role team has not"},
		{"team", control.Access{Operation: "update-iam-role", RoleID: roles["team-read"].ID, Permissions: []string{"bypass-governance-retention"}},
			"API key EXOteam (role team) may not update-iam-role: role team-read would have permission bypass-governance-retention, which role team has not"},
		{"team", control.Access{Operation: "update-iam-role", RoleID: roles["team-locker"].ID, Permissions: []string{"bypass-governance-retention"}}, ""},

		// CEL parameters: delegated may create and revoke keys of team roles only.
		{"delegated", newKey("team-read"), ""},
		{"delegated", newKey("keymgr"),
			"API key EXOdelegated (role delegated) may not create-api-key: no rule of services.iam matches create-api-key on role keymgr"},
		{"delegated", newKey("team"),
			"API key EXOdelegated (role delegated) may not create-api-key: role team allows more than role delegated: rule services.iam.rules[0] allows \"operation in ['create-api-key', 'create-iam-role', 'update-iam-role', 'update-iam-role-policy']\", and no allow rule of services.iam in role delegated's policy has that expression"},
		{"delegated", control.Access{Operation: "delete-api-key", Key: teamReadKey}, ""},
		{"delegated", control.Access{Operation: "delete-api-key", Key: adminKey},
			"API key EXOdelegated (role delegated) may not delete-api-key: no rule of services.iam matches delete-api-key on API key " + adminKey},
	} {
		t.Run(fmt.Sprintf("%d %s %s", i, tc.caller, tc.a.Operation), func(t *testing.T) {
			tc.a.Service = iam.ServiceIAM
			err := p.Authorize(ctx, as(tc.caller), tc.a)
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
