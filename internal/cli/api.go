package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sos/internal/auth/exo2"
	"sos/internal/transport"
)

// apiClient calls API v2 of the control plane, signed with EXO2-HMAC-SHA256.
type apiClient struct {
	endpoint    string // scheme://host[:port], no trailing /v2
	key, secret string
	http        *http.Client

	expiries exo2.Expiries // each write its own signature
}

// APIError is an error answer of API v2.
type APIError struct {
	Status  int
	Message string
	Code    string // the answer's "code", when it has one
}

func (e *APIError) Error() string {
	switch e.Status {
	case http.StatusForbidden:
		return "access denied: " + e.Message
	case http.StatusNotFound:
		if strings.Contains(strings.ToLower(e.Message), "not found") {
			return e.Message
		}
		return "not found: " + e.Message
	}
	return e.Message
}

// do sends one request; in (when not nil) is sent as JSON, out (when not nil)
// receives the JSON answer. A write refused because another client (another
// run of sos in the same second) already sent the very same signature is
// signed anew, with a later expiry, and sent once more: nothing was done
// for this one.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	err := c.send(ctx, method, path, in, out)
	if ae := (*APIError)(nil); errors.As(err, &ae) && ae.Code == exo2.CodeSignatureReused {
		err = c.send(ctx, method, path, in, out)
	}
	return err
}

func (c *apiClient) send(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	u, err := url.Parse(c.endpoint + path)
	if err != nil {
		return fmt.Errorf("bad API endpoint %q: %v", c.endpoint, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if err := exo2.Sign(req, body, c.key, c.secret, c.expiries.Next(time.Now(), 10*time.Minute)); err != nil {
		return err
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ce *transport.CleartextError
		if errors.As(err, &ce) {
			return fmt.Errorf("API at %s: %w", c.endpoint, ce)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("cannot reach the API at %s: %v", c.endpoint, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %v", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		}
		if json.Unmarshal(data, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(data))
			if e.Message == "" {
				e.Message = res.Status
			}
		}
		return &APIError{Status: res.StatusCode, Message: e.Message, Code: e.Code}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: unexpected answer: %v", method, path, err)
		}
	}
	return nil
}

// Wire types of API v2.

type zoneInfo struct {
	Name        string `json:"name"`
	APIEndpoint string `json:"api-endpoint"`
	SOSEndpoint string `json:"sos-endpoint"`
}

type reference struct {
	ID      string `json:"id"`
	Link    string `json:"link,omitempty"`
	Command string `json:"command,omitempty"`
}

type operation struct {
	ID        string     `json:"id"`
	State     string     `json:"state"`
	Reason    string     `json:"reason,omitempty"`
	Message   string     `json:"message,omitempty"`
	Reference *reference `json:"reference,omitempty"`
}

type role struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Editable    bool              `json:"editable"`
	Labels      map[string]string `json:"labels"`
	Permissions []string          `json:"permissions"`
	Policy      json.RawMessage   `json:"policy,omitempty"`
}

type apiKey struct {
	Key    string `json:"key"`
	Secret string `json:"secret,omitempty"`
	Name   string `json:"name"`
	RoleID string `json:"role-id"`
}

type bucketUsage struct {
	Name      string    `json:"name"`
	ZoneName  string    `json:"zone-name"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created-at"`
}

func (c *apiClient) zones(ctx context.Context) ([]zoneInfo, error) {
	var out struct {
		Zones []zoneInfo `json:"zones"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/zone", nil, &out); err != nil {
		return nil, err
	}
	return out.Zones, nil
}

// wait polls an operation until it is no longer pending.
func (c *apiClient) wait(ctx context.Context, op operation) (operation, error) {
	for delay := 100 * time.Millisecond; op.State == "pending"; delay = min(2*delay, 2*time.Second) {
		select {
		case <-ctx.Done():
			return op, ctx.Err()
		case <-time.After(delay):
		}
		if err := c.do(ctx, http.MethodGet, "/v2/operation/"+url.PathEscape(op.ID), nil, &op); err != nil {
			return op, err
		}
	}
	if op.State != "" && op.State != "success" {
		msg := op.Message
		if msg == "" {
			msg = op.Reason
		}
		return op, fmt.Errorf("operation %s ended %s: %s", op.ID, op.State, msg)
	}
	return op, nil
}

func (c *apiClient) roles(ctx context.Context) ([]role, error) {
	var out struct {
		Roles []role `json:"iam-roles"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/iam-role", nil, &out); err != nil {
		return nil, err
	}
	return out.Roles, nil
}

func (c *apiClient) role(ctx context.Context, id string) (role, error) {
	var r role
	err := c.do(ctx, http.MethodGet, "/v2/iam-role/"+url.PathEscape(id), nil, &r)
	return r, err
}

// findRole finds a role by ID or by name.
func (c *apiClient) findRole(ctx context.Context, idOrName string) (role, error) {
	if looksLikeUUID(idOrName) {
		return c.role(ctx, idOrName)
	}
	rs, err := c.roles(ctx)
	if err != nil {
		return role{}, err
	}
	var found []role
	for _, r := range rs {
		if r.Name == idOrName {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return role{}, fmt.Errorf("no IAM role named %q (see `sos iam role list`)", idOrName)
	case 1:
		return found[0], nil
	}
	return role{}, fmt.Errorf("%d IAM roles are named %q: use the role's ID", len(found), idOrName)
}

func (c *apiClient) bucketsUsage(ctx context.Context) ([]bucketUsage, error) {
	var out struct {
		Buckets []bucketUsage `json:"sos-buckets-usage"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/sos-buckets-usage", nil, &out); err != nil {
		return nil, err
	}
	return out.Buckets, nil
}

func looksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}
