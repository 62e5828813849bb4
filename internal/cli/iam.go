package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

func roleView(r role) record {
	var labels []string
	for k, v := range r.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	return record{JSON: r, Fields: []field{
		{Key: "ID", Value: r.ID},
		{Key: "Name", Value: r.Name},
		{Key: "Description", Value: r.Description},
		{Key: "Editable", Value: fmt.Sprint(r.Editable)},
		{Key: "Labels", Value: orNA(strings.Join(labels, "\n"))},
		{Key: "Permissions", Value: orNA(strings.Join(r.Permissions, "\n"))},
	}}
}

// roleWithPolicyView is `iam role show`: the role and its policy.
func roleWithPolicyView(r role) record {
	r.Policy = unescapeHTML(r.Policy)
	v := roleView(r)
	pol := "n/a"
	if len(r.Policy) > 0 {
		var b bytes.Buffer
		if json.Indent(&b, r.Policy, "", "  ") == nil {
			pol = b.String()
		} else {
			pol = string(r.Policy)
		}
	}
	v.Fields = append(v.Fields, field{Key: "Policy", Value: pol, Text: string(r.Policy)})
	return v
}

// unescapeHTML undoes the \u0026, \u003c and \u003e escapes that Go's JSON
// encoder puts in strings, so that CEL's && reads as written. An escaped
// backslash before "u0026" is left alone.
func unescapeHTML(doc json.RawMessage) json.RawMessage {
	if !bytes.Contains(doc, []byte(`\u00`)) {
		return doc
	}
	out := make([]byte, 0, len(doc))
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c != '\\' || i+1 >= len(doc) {
			out = append(out, c)
			continue
		}
		if doc[i+1] == 'u' && i+6 <= len(doc) {
			switch strings.ToLower(string(doc[i+2 : i+6])) {
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			}
		}
		out = append(out, c, doc[i+1])
		i++
	}
	return out
}

func rolesView(rs []role) list {
	l := list{Header: []string{"ID", "NAME", "EDITABLE", "DESCRIPTION"}, JSON: rs, Empty: "no IAM roles"}
	if rs == nil {
		l.JSON = []role{}
	}
	for _, r := range rs {
		l.Rows = append(l.Rows, []string{r.ID, r.Name, fmt.Sprint(r.Editable), r.Description})
	}
	return l
}

func apiKeyView(k apiKey, roleName string) record {
	fs := []field{
		{Key: "Key", Value: k.Key},
		{Key: "Name", Value: k.Name},
		{Key: "Role ID", Value: k.RoleID},
	}
	if roleName != "" {
		fs = append(fs, field{Key: "Role", Value: roleName})
	}
	if k.Secret != "" {
		fs = append(fs, field{Key: "Secret", Value: k.Secret})
	}
	return record{JSON: k, Fields: fs}
}

func apiKeysView(ks []apiKey) list {
	l := list{Header: []string{"KEY", "NAME", "ROLE ID"}, JSON: ks, Empty: "no API keys"}
	if ks == nil {
		l.JSON = []apiKey{}
	}
	for _, k := range ks {
		l.Rows = append(l.Rows, []string{k.Key, k.Name, k.RoleID})
	}
	return l
}

// readPolicy reads --policy: "-" is stdin, a value starting with "{" is the
// document itself, anything else a file. The document must be JSON.
func readPolicy(arg string, stdin io.Reader) (json.RawMessage, error) {
	var data []byte
	var err error
	switch {
	case arg == "-":
		data, err = io.ReadAll(stdin)
	case strings.HasPrefix(strings.TrimSpace(arg), "{"):
		data = []byte(arg)
	default:
		data, err = os.ReadFile(arg)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the policy: %w", err)
	}
	if !json.Valid(data) {
		return nil, usagef("the policy is not valid JSON")
	}
	var c bytes.Buffer
	if err := json.Compact(&c, data); err != nil {
		return nil, err
	}
	return c.Bytes(), nil
}

func parseLabels(ls []string) (map[string]string, error) {
	m := map[string]string{}
	for _, l := range ls {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, usagef("--label %q: use KEY=VALUE", l)
		}
		m[k] = v
	}
	return m, nil
}

func (a *app) iamCommand() *cobra.Command {
	return group("iam", "IAM roles (CEL policies) and API keys",
		group("role", "IAM roles", a.roleCreateCommand(), a.roleListCommand(), a.roleShowCommand(), a.roleUpdateCommand(), a.roleDeleteCommand()),
		group("api-key", "API keys", a.keyCreateCommand(), a.keyListCommand(), a.keyShowCommand(), a.keyDeleteCommand()),
	)
}

func (a *app) roleCreateCommand() *cobra.Command {
	var description, policy string
	var editable bool
	var labels, permissions []string
	c := &cobra.Command{
		Use:   "create NAME [--policy FILE|-] [--description TEXT] [--editable] [--label K=V]...",
		Short: "create an IAM role",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lm, err := parseLabels(labels)
			if err != nil {
				return err
			}
			if permissions == nil {
				permissions = []string{}
			}
			body := map[string]any{"name": args[0], "description": description, "editable": editable, "labels": lm, "permissions": permissions}
			if !cmd.Flags().Changed("editable") {
				delete(body, "editable") // the API's default: editable
			}
			if policy != "" {
				doc, err := readPolicy(policy, a.io.Stdin)
				if err != nil {
					return err
				}
				body["policy"] = doc
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var op operation
			if err := c.do(ctx, http.MethodPost, "/v2/iam-role", body, &op); err != nil {
				return fmt.Errorf("creating IAM role %s: %w", args[0], err)
			}
			if op, err = c.wait(ctx, op); err != nil {
				return err
			}
			if op.Reference == nil || op.Reference.ID == "" {
				return fmt.Errorf("creating IAM role %s: the operation names no role", args[0])
			}
			r, err := c.role(ctx, op.Reference.ID)
			if err != nil {
				return err
			}
			return a.show(roleView(r))
		},
	}
	f := c.Flags()
	f.StringVar(&description, "description", "", "what the role is for")
	f.StringVar(&policy, "policy", "", "policy document: a JSON file, - for stdin, or the JSON itself")
	f.BoolVar(&editable, "editable", true, "whether the policy may be changed later (--editable=false freezes it)")
	f.StringArrayVar(&labels, "label", nil, "label KEY=VALUE (repeatable)")
	f.StringArrayVar(&permissions, "permission", nil, "permission (repeatable)")
	return c
}

func (a *app) roleListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list IAM roles",
		Args:    nargs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			rs, err := c.roles(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
			return a.show(rolesView(rs))
		},
	}
}

func (a *app) roleShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID|NAME",
		Short: "show an IAM role and its policy",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			r, err := c.findRole(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(roleWithPolicyView(r))
		},
	}
}

func (a *app) roleUpdateCommand() *cobra.Command {
	var description, policy string
	var labels, permissions []string
	c := &cobra.Command{
		Use:   "update ID|NAME [--description TEXT] [--label K=V]... [--policy FILE|-]",
		Short: "change an IAM role's description, labels, permissions or policy",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f := cmd.Flags()
			if !f.Changed("description") && !f.Changed("label") && !f.Changed("permission") && !f.Changed("policy") {
				return usagef("nothing to update: give --description, --label, --permission or --policy")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			r, err := c.findRole(ctx, args[0])
			if err != nil {
				return err
			}
			path := "/v2/iam-role/" + url.PathEscape(r.ID)
			if f.Changed("description") || f.Changed("label") || f.Changed("permission") {
				body := map[string]any{"description": r.Description, "labels": r.Labels, "permissions": r.Permissions}
				if f.Changed("description") {
					body["description"] = description
				}
				if f.Changed("label") {
					m, err := parseLabels(labels)
					if err != nil {
						return err
					}
					body["labels"] = m
				}
				if f.Changed("permission") {
					body["permissions"] = permissions
				}
				var op operation
				if err := c.do(ctx, http.MethodPut, path, body, &op); err != nil {
					return fmt.Errorf("updating IAM role %s: %w", r.Name, err)
				}
				if _, err := c.wait(ctx, op); err != nil {
					return err
				}
			}
			if f.Changed("policy") {
				doc, err := readPolicy(policy, a.io.Stdin)
				if err != nil {
					return err
				}
				var op operation
				if err := c.do(ctx, http.MethodPut, path+":policy", doc, &op); err != nil {
					return fmt.Errorf("updating the policy of IAM role %s: %w", r.Name, err)
				}
				if _, err := c.wait(ctx, op); err != nil {
					return err
				}
			}
			r, err = c.role(ctx, r.ID)
			if err != nil {
				return err
			}
			return a.show(roleWithPolicyView(r))
		},
	}
	fl := c.Flags()
	fl.StringVar(&description, "description", "", "new description")
	fl.StringVar(&policy, "policy", "", "new policy: a JSON file, - for stdin, or the JSON itself")
	fl.StringArrayVar(&labels, "label", nil, "label KEY=VALUE (repeatable; replaces all labels)")
	fl.StringArrayVar(&permissions, "permission", nil, "permission (repeatable; replaces all)")
	return c
}

func (a *app) roleDeleteCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "delete ID|NAME",
		Short: "delete an IAM role (refused while API keys use it)",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.client()
			if err != nil {
				return err
			}
			r, err := c.findRole(ctx, args[0])
			if err != nil {
				return err
			}
			var op operation
			if err := c.do(ctx, http.MethodDelete, "/v2/iam-role/"+url.PathEscape(r.ID), nil, &op); err != nil {
				return fmt.Errorf("deleting IAM role %s: %w", r.Name, err)
			}
			if op, err = c.wait(ctx, op); err != nil {
				return err
			}
			return a.show(message{JSON: op})
		},
	}
	c.Flags().BoolP("force", "f", false, "do not ask (sos never asks; accepted as exo's)")
	return c
}

func (a *app) keyCreateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME ROLE",
		Short: "create an API key for a role (ID or name); its secret is shown only now",
		Args:  nargs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.client()
			if err != nil {
				return err
			}
			r, err := c.findRole(ctx, args[1])
			if err != nil {
				return err
			}
			var k apiKey
			if err := c.do(ctx, http.MethodPost, "/v2/api-key", map[string]string{"name": args[0], "role-id": r.ID}, &k); err != nil {
				return fmt.Errorf("creating API key %s: %w", args[0], err)
			}
			if a.out == formatTable {
				a.warnf("Keep the secret now: it cannot be shown again.")
			}
			return a.show(apiKeyView(k, r.Name))
		},
	}
}

func (a *app) keyListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list API keys",
		Args:    nargs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var out struct {
				Keys []apiKey `json:"api-keys"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/v2/api-key", nil, &out); err != nil {
				return err
			}
			sort.Slice(out.Keys, func(i, j int) bool { return out.Keys[i].Name < out.Keys[j].Name })
			return a.show(apiKeysView(out.Keys))
		},
	}
}

func (a *app) keyShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show KEY",
		Short: "show an API key",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.client()
			if err != nil {
				return err
			}
			var k apiKey
			if err := c.do(ctx, http.MethodGet, "/v2/api-key/"+url.PathEscape(args[0]), nil, &k); err != nil {
				return err
			}
			name := ""
			if r, err := c.role(ctx, k.RoleID); err == nil {
				name = r.Name
			}
			return a.show(apiKeyView(k, name))
		},
	}
}

func (a *app) keyDeleteCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "delete KEY",
		Short: "revoke an API key",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.client()
			if err != nil {
				return err
			}
			var op operation
			if err := c.do(ctx, http.MethodDelete, "/v2/api-key/"+url.PathEscape(args[0]), nil, &op); err != nil {
				return fmt.Errorf("deleting API key %s: %w", args[0], err)
			}
			if op, err = c.wait(ctx, op); err != nil {
				return err
			}
			return a.show(message{JSON: op})
		},
	}
	c.Flags().BoolP("force", "f", false, "do not ask (sos never asks; accepted as exo's)")
	return c
}
