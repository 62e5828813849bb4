package controlapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"sos/internal/control"
	"sos/internal/iam"
)

// Wire types of API v2 (see docs/api-v2.md).

// ZoneJSON is one entry of GET /v2/zone.
type ZoneJSON struct {
	Name        string `json:"name"`
	APIEndpoint string `json:"api-endpoint"`
	SOSEndpoint string `json:"sos-endpoint"`
}

// RoleJSON is a role on the wire.
type RoleJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Editable    bool              `json:"editable"`
	Labels      map[string]string `json:"labels"`
	Permissions []string          `json:"permissions"`
	Policy      *iam.Policy       `json:"policy"`
}

// CreateRoleRequest is the body of POST /v2/iam-role. Editable defaults to true.
type CreateRoleRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Editable    *bool             `json:"editable"`
	Labels      map[string]string `json:"labels"`
	Permissions []string          `json:"permissions"`
	Policy      json.RawMessage   `json:"policy"`
}

// UpdateRoleRequest is the body of PUT /v2/iam-role/{id}; absent fields are kept.
type UpdateRoleRequest struct {
	Description *string            `json:"description"`
	Labels      *map[string]string `json:"labels"`
	Permissions *[]string          `json:"permissions"`
}

// APIKeyJSON is an API key on the wire; Secret only in the creation answer.
type APIKeyJSON struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Secret string `json:"secret,omitempty"`
	RoleID string `json:"role-id"`
}

// CreateAPIKeyRequest is the body of POST /v2/api-key.
type CreateAPIKeyRequest struct {
	Name   string `json:"name"`
	RoleID string `json:"role-id"`
}

// BucketUsageJSON is one entry of GET /v2/sos-buckets-usage.
type BucketUsageJSON struct {
	Name      string `json:"name"`
	ZoneName  string `json:"zone-name"`
	Size      int64  `json:"size"`
	CreatedAt string `json:"created-at"`
}

func roleJSON(r control.Role) RoleJSON {
	out := RoleJSON{
		ID: r.ID, Name: r.Name, Description: r.Description, Editable: r.Editable,
		Labels: r.Labels, Permissions: r.Permissions, Policy: r.Policy,
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Permissions == nil {
		out.Permissions = []string{}
	}
	return out
}

func keyJSON(k control.APIKey) APIKeyJSON {
	return APIKeyJSON{Key: k.Key, Name: k.Name, Secret: k.Secret, RoleID: k.RoleID}
}

func (s *server) listZones(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	api := s.plane.APIEndpoint()
	if api == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		api = scheme + "://" + r.Host
	}
	if !strings.HasSuffix(api, "/v2") {
		api += "/v2"
	}
	zones := []ZoneJSON{}
	for _, z := range s.plane.Zones() {
		zones = append(zones, ZoneJSON{Name: z.Name, APIEndpoint: api, SOSEndpoint: z.S3Endpoint})
	}
	writeJSON(w, http.StatusOK, map[string]any{"zones": zones})
	return nil
}

// parsePolicy compiles a policy document; an absent or null one is nil.
func parsePolicy(raw json.RawMessage) (*iam.Policy, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	return iam.ParsePolicy(raw)
}

func (s *server) createRole(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	var req CreateRoleRequest
	if err := decodeJSON(rc.body, &req); err != nil {
		return err
	}
	pol, err := parsePolicy(req.Policy)
	if err != nil {
		return err
	}
	if err := s.authorize(r, rc, control.Access{
		Operation: "create-iam-role", RoleName: strings.TrimSpace(req.Name), Policy: pol, Permissions: req.Permissions,
	}); err != nil {
		return err
	}
	editable := true
	if req.Editable != nil {
		editable = *req.Editable
	}
	_, op, err := s.plane.CreateRole(r.Context(), control.RoleSpec{
		Name: req.Name, Description: req.Description, Editable: editable,
		Labels: req.Labels, Permissions: req.Permissions, Policy: pol,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, op)
	return nil
}

func (s *server) listRoles(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	roles, err := s.plane.Roles(r.Context())
	if err != nil {
		return err
	}
	out := make([]RoleJSON, 0, len(roles))
	for _, role := range roles {
		out = append(out, roleJSON(role))
	}
	writeJSON(w, http.StatusOK, map[string]any{"iam-roles": out})
	return nil
}

func (s *server) getRole(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := s.authorize(r, rc, control.Access{Operation: "get-iam-role", RoleID: r.PathValue("id")}); err != nil {
		return err
	}
	role, err := s.plane.Role(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, roleJSON(role))
	return nil
}

func (s *server) updateRole(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	id, isPolicy := strings.CutSuffix(r.PathValue("id"), ":policy")
	var (
		op  control.Operation
		err error
	)
	if isPolicy {
		if len(strings.TrimSpace(string(rc.body))) == 0 {
			return httpErrorf(http.StatusBadRequest, "request body is empty: expected a policy document")
		}
		var pol *iam.Policy
		if pol, err = iam.ParsePolicy(rc.body); err != nil {
			return err
		}
		if err := s.authorize(r, rc, control.Access{Operation: "update-iam-role-policy", RoleID: id, Policy: pol}); err != nil {
			return err
		}
		op, err = s.plane.SetRolePolicy(r.Context(), id, pol)
	} else {
		var req UpdateRoleRequest
		if err := decodeJSON(rc.body, &req); err != nil {
			return err
		}
		a := control.Access{Operation: "update-iam-role", RoleID: id}
		if req.Permissions != nil {
			a.Permissions = *req.Permissions
		}
		if err := s.authorize(r, rc, a); err != nil {
			return err
		}
		op, err = s.plane.UpdateRole(r.Context(), id, control.RoleUpdate{
			Description: req.Description, Labels: req.Labels, Permissions: req.Permissions,
		})
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, op)
	return nil
}

func (s *server) deleteRole(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := s.authorize(r, rc, control.Access{Operation: "delete-iam-role", RoleID: r.PathValue("id")}); err != nil {
		return err
	}
	op, err := s.plane.DeleteRole(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, op)
	return nil
}

func (s *server) getOperation(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	op, err := s.plane.Operation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, op)
	return nil
}

func (s *server) createKey(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	var req CreateAPIKeyRequest
	if err := decodeJSON(rc.body, &req); err != nil {
		return err
	}
	if err := s.authorize(r, rc, control.Access{
		Operation: "create-api-key", RoleID: req.RoleID, KeyName: strings.TrimSpace(req.Name),
	}); err != nil {
		return err
	}
	k, err := s.plane.CreateAPIKey(r.Context(), req.Name, req.RoleID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, keyJSON(k))
	return nil
}

func (s *server) listKeys(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	keys, err := s.plane.APIKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]APIKeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyJSON(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"api-keys": out})
	return nil
}

func (s *server) getKey(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := s.authorize(r, rc, control.Access{Operation: "get-api-key", Key: r.PathValue("key")}); err != nil {
		return err
	}
	k, err := s.plane.APIKey(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, keyJSON(k))
	return nil
}

func (s *server) deleteKey(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := s.authorize(r, rc, control.Access{Operation: "delete-api-key", Key: r.PathValue("key")}); err != nil {
		return err
	}
	op, err := s.plane.DeleteAPIKey(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, op)
	return nil
}

func (s *server) bucketsUsage(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	rows, err := s.plane.Usage(r.Context())
	if err != nil {
		return err
	}
	out := make([]BucketUsageJSON, 0, len(rows))
	for _, u := range rows {
		out = append(out, BucketUsageJSON{
			Name: u.Name, ZoneName: u.Zone, Size: u.Size,
			CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sos-buckets-usage": out})
	return nil
}
