package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"sos/internal/control"
	"sos/internal/iam"
)

// authorizeIAM decides an IAM operation with its target (a) as API v2 does
// (the plane's Authorize, the one rule of both) and words a refusal for the
// console.
func (c *console) authorizeIAM(r *http.Request, s *session, a control.Access) error {
	a.Service = iam.ServiceIAM
	return c.authorize(r, s, a)
}

func (c *console) authorize(r *http.Request, s *session, a control.Access) error {
	a.SourceIP, a.Now = iam.SourceIP(r), c.now()
	err := c.plane.Authorize(r.Context(), s.principal(), a)
	var de *control.DeniedError
	switch {
	case errors.As(err, &de) && de.NoRole:
		return errorPage(http.StatusForbidden, "Not allowed", "Your API key %s has no role any more.", s.Key)
	case errors.As(err, &de):
		return errorPage(http.StatusForbidden, "Not allowed",
			"Your API key %s (role %s) may not %s: %s.", s.Key, de.Role, de.Operation, de.Reason)
	}
	return err
}

// op is an Access of an IAM operation without a target.
func op(name string) control.Access { return control.Access{Operation: name} }

type roleRow struct {
	ID, Name, Description string
	Editable              bool
	Keys                  int
}

type rolesPage struct {
	Roles []roleRow
}

func (c *console) rolesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.authorizeIAM(r, s, op("list-iam-roles")); err != nil {
		return err
	}
	roles, err := c.plane.Roles(r.Context())
	if err != nil {
		return err
	}
	uses := map[string]int{}
	if keys, err := c.plane.APIKeys(r.Context()); err == nil {
		for _, k := range keys {
			uses[k.RoleID]++
		}
	}
	p := rolesPage{}
	for _, role := range roles {
		p.Roles = append(p.Roles, roleRow{ID: role.ID, Name: role.Name, Description: role.Description, Editable: role.Editable, Keys: uses[role.ID]})
	}
	d := c.data(r, s, "iam", "Roles")
	d.Page = p
	c.render(w, http.StatusOK, "roles", d)
	return nil
}

// roleForm is the Add role form, with its errors next to each field.
type roleForm struct {
	Name, Description, Policy string
	Editable                  bool
	Errors                    map[string]string
}

const defaultPolicy = `{
  "default-service-strategy": "deny",
  "services": {
    "sos": {
      "type": "rules",
      "rules": [
        {
          "action": "allow",
          "expression": "operation == 'list-objects'"
        }
      ]
    }
  }
}
`

func (c *console) addRolePage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.authorizeIAM(r, s, op("create-iam-role")); err != nil {
		return err
	}
	d := c.data(r, s, "iam", "Add role")
	d.Page = roleForm{Editable: true, Policy: defaultPolicy}
	c.render(w, http.StatusOK, "role_add", d)
	return nil
}

func (c *console) addRole(w http.ResponseWriter, r *http.Request, s *session) error {
	f := roleForm{
		Name:        r.PostForm.Get("name"),
		Description: r.PostForm.Get("description"),
		Editable:    r.PostForm.Get("editable") != "",
		Policy:      r.PostForm.Get("policy"),
		Errors:      map[string]string{},
	}
	var pol *iam.Policy
	if strings.TrimSpace(f.Policy) == "" {
		f.Errors["policy"] = "Write a policy document (JSON). A role with an empty policy could do nothing."
	} else {
		var err error
		if pol, err = iam.ParsePolicy([]byte(f.Policy)); err != nil {
			f.Errors["policy"] = policyErrorWords(err)
		}
	}
	if strings.TrimSpace(f.Name) == "" {
		f.Errors["name"] = "A role needs a name."
	}
	// Authorized with what the form would grant (an invalid or empty policy
	// grants nothing: it is shown on the form and nothing is created).
	if err := c.authorizeIAM(r, s, control.Access{
		Operation: "create-iam-role", RoleName: strings.TrimSpace(f.Name), Policy: pol,
	}); err != nil {
		return err
	}
	if len(f.Errors) == 0 {
		role, _, err := c.plane.CreateRole(r.Context(), control.RoleSpec{
			Name: f.Name, Description: f.Description, Editable: f.Editable, Policy: pol,
		})
		if err == nil {
			c.redirect(w, r, s, "/iam/roles/"+url.PathEscape(role.ID), &flash{Text: fmt.Sprintf("Role %s created.", role.Name)})
			return nil
		}
		var ce *control.Error
		if !errors.As(err, &ce) {
			return err
		}
		switch ce.Field {
		case "name", "description":
			f.Errors[ce.Field] = ce.Message
		default:
			f.Errors["form"] = ce.Message
		}
	}
	d := c.data(r, s, "iam", "Add role")
	d.Page = f
	c.render(w, http.StatusBadRequest, "role_add", d)
	return nil
}

// policyErrorWords words a policy error; *iam.PolicyError names the rule
// and the position in the expression.
func policyErrorWords(err error) string {
	var pe *iam.PolicyError
	if errors.As(err, &pe) {
		return "Invalid policy: " + pe.Error()
	}
	return "Invalid policy: " + err.Error()
}

type rolePage struct {
	Role       control.Role
	PolicyJSON string
	PolicyErr  string
	Keys       []control.APIKey
}

func indentPolicy(p *iam.Policy) string {
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return ""
	}
	return string(raw) + "\n"
}

func (c *console) rolePage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.authorizeIAM(r, s, control.Access{Operation: "get-iam-role", RoleID: r.PathValue("id")}); err != nil {
		return err
	}
	role, err := c.plane.Role(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := rolePage{Role: role, PolicyJSON: indentPolicy(role.Policy)}
	if keys, err := c.plane.APIKeys(r.Context()); err == nil {
		for _, k := range keys {
			if k.RoleID == role.ID {
				p.Keys = append(p.Keys, k)
			}
		}
	}
	d := c.data(r, s, "iam", "Role "+role.Name)
	d.Page = p
	c.render(w, http.StatusOK, "role", d)
	return nil
}

func (c *console) setRolePolicy(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	text := r.PostForm.Get("policy")
	pol, perr := iam.ParsePolicy([]byte(text))
	// An invalid policy is shown on the form; a valid one is authorized
	// with what it would grant.
	a := control.Access{Operation: "update-iam-role-policy", RoleID: id}
	if perr == nil {
		a.Policy = pol
	}
	if err := c.authorizeIAM(r, s, a); err != nil {
		return err
	}
	role, err := c.plane.Role(r.Context(), id)
	if err != nil {
		return err
	}
	if perr == nil {
		_, err = c.plane.SetRolePolicy(r.Context(), id, pol)
		if err == nil {
			c.redirect(w, r, s, "/iam/roles/"+url.PathEscape(id), &flash{Field: "policy", Text: "Policy saved."})
			return nil
		}
		var ce *control.Error
		if !errors.As(err, &ce) {
			return err
		}
		perr = errors.New(ce.Message)
	}
	p := rolePage{Role: role, PolicyJSON: text}
	if errors.As(perr, new(*iam.PolicyError)) {
		p.PolicyErr = policyErrorWords(perr)
	} else {
		p.PolicyErr = perr.Error()
	}
	d := c.data(r, s, "iam", "Role "+role.Name)
	d.Page = p
	c.render(w, http.StatusBadRequest, "role", d)
	return nil
}

func (c *console) deleteRole(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if err := c.authorizeIAM(r, s, control.Access{Operation: "delete-iam-role", RoleID: id}); err != nil {
		return err
	}
	role, err := c.plane.Role(r.Context(), id)
	if err != nil {
		return err
	}
	if _, err := c.plane.DeleteRole(r.Context(), id); err != nil {
		var ce *control.Error
		if errors.As(err, &ce) {
			c.redirect(w, r, s, "/iam/roles/"+url.PathEscape(id), &flash{Error: true, Field: "delete", Text: ce.Message})
			return nil
		}
		return err
	}
	c.redirect(w, r, s, "/iam/roles", &flash{Text: fmt.Sprintf("Role %s deleted.", role.Name)})
	return nil
}

type keyRow struct {
	Key, Name, RoleID, RoleName string
	Mine                        bool
}

type keysPage struct {
	Keys   []keyRow
	Roles  []control.Role
	Name   string
	RoleID string
	Errors map[string]string
}

func (c *console) keysData(r *http.Request, s *session) (keysPage, error) {
	var p keysPage
	keys, err := c.plane.APIKeys(r.Context())
	if err != nil {
		return p, err
	}
	roles, err := c.plane.Roles(r.Context())
	if err != nil {
		return p, err
	}
	names := map[string]string{}
	for _, role := range roles {
		names[role.ID] = role.Name
	}
	for _, k := range keys {
		p.Keys = append(p.Keys, keyRow{Key: k.Key, Name: k.Name, RoleID: k.RoleID, RoleName: names[k.RoleID], Mine: k.Key == s.Key})
	}
	p.Roles = roles
	return p, nil
}

func (c *console) keysPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.authorizeIAM(r, s, op("list-api-keys")); err != nil {
		return err
	}
	p, err := c.keysData(r, s)
	if err != nil {
		return err
	}
	p.RoleID = r.URL.Query().Get("role")
	d := c.data(r, s, "iam", "API keys")
	d.Page = p
	c.render(w, http.StatusOK, "keys", d)
	return nil
}

func (c *console) createKey(w http.ResponseWriter, r *http.Request, s *session) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	roleID := r.PostForm.Get("role")
	if err := c.authorizeIAM(r, s, control.Access{Operation: "create-api-key", RoleID: roleID, KeyName: name}); err != nil {
		return err
	}
	errs := map[string]string{}
	if name == "" {
		errs["name"] = "An API key needs a name."
	}
	if roleID == "" {
		errs["role"] = "Pick the role the key acts with."
	}
	if len(errs) == 0 {
		k, err := c.plane.CreateAPIKey(r.Context(), name, roleID)
		if err == nil {
			roleName := roleID
			if role, err := c.plane.Role(r.Context(), roleID); err == nil {
				roleName = role.Name
			}
			c.redirect(w, r, s, "/iam/keys", &flash{
				Text:   fmt.Sprintf("API key %s created.", k.Name),
				Secret: &createdKey{Key: k.Key, Secret: k.Secret, Name: k.Name, Role: roleName},
			})
			return nil
		}
		var ce *control.Error
		if !errors.As(err, &ce) {
			return err
		}
		switch ce.Field {
		case "role-id":
			errs["role"] = ce.Message
		case "name":
			errs["name"] = ce.Message
		default:
			errs["form"] = ce.Message
		}
	}
	p, err := c.keysData(r, s)
	if err != nil {
		return err
	}
	p.Name, p.RoleID, p.Errors = name, roleID, errs
	d := c.data(r, s, "iam", "API keys")
	d.Page = p
	c.render(w, http.StatusBadRequest, "keys", d)
	return nil
}

func (c *console) deleteKey(w http.ResponseWriter, r *http.Request, s *session) error {
	key := r.PathValue("key")
	if err := c.authorizeIAM(r, s, control.Access{Operation: "delete-api-key", Key: key}); err != nil {
		return err
	}
	if _, err := c.plane.DeleteAPIKey(r.Context(), key); err != nil {
		var ce *control.Error
		if errors.As(err, &ce) {
			c.redirect(w, r, s, "/iam/keys", &flash{Error: true, Text: ce.Message})
			return nil
		}
		return err
	}
	c.sessions.removeKey(key)
	if key == s.Key {
		setSessionCookie(w, r, "", -1)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	c.redirect(w, r, s, "/iam/keys", &flash{Text: fmt.Sprintf("API key %s revoked: it stops working in every zone within seconds.", key)})
	return nil
}
