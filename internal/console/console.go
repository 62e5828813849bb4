package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sos/internal/control"
	"sos/internal/iam"
	"sos/internal/transport"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Plane is what the console needs of the control plane (*control.Plane
// implements it). Errors MUST be *control.Error (or wrap the control
// sentinels) for refusals, so that the console can word them; policy errors
// come from iam.ParsePolicy, which the console calls itself.
type Plane interface {
	// LookupKey returns the secret of the root key or of an API key.
	LookupKey(key string) (secret string, who control.Principal, ok bool)
	// Authorize is the one authorization decision of API v2 and the
	// console; a refusal MUST be *control.DeniedError.
	Authorize(ctx context.Context, who control.Principal, a control.Access) error
	Zones() []control.Zone
	Zone(name string) (control.Zone, bool)

	Roles(ctx context.Context) ([]control.Role, error)
	Role(ctx context.Context, id string) (control.Role, error)
	CreateRole(ctx context.Context, spec control.RoleSpec) (control.Role, control.Operation, error)
	SetRolePolicy(ctx context.Context, id string, pol *iam.Policy) (control.Operation, error)
	DeleteRole(ctx context.Context, id string) (control.Operation, error)

	APIKeys(ctx context.Context) ([]control.APIKey, error)
	CreateAPIKey(ctx context.Context, name, roleID string) (control.APIKey, error)
	DeleteAPIKey(ctx context.Context, key string) (control.Operation, error)

	// Usage lists every bucket of every zone with its last reported size.
	Usage(ctx context.Context) ([]control.UsageRow, error)
}

// Options configures New.
type Options struct {
	// Plane is the control plane (required).
	Plane Plane
	// Logger receives errors the user cannot act on; nil discards logs.
	Logger *slog.Logger
	// Now is the clock (sessions, policy evaluation); nil means time.Now.
	Now func() time.Time
	// HTTPClient carries the console's S3 requests to the zones (the
	// control plane's, from internal/transport with its --ca and
	// --insecure-http); nil means one of internal/transport with the
	// system roots (no proxy).
	HTTPClient *http.Client
	// SessionTTL is how long a session lives without a request; 0 means 12h.
	SessionTTL time.Duration
}

// console is the handler.
type console struct {
	plane    Plane
	log      *slog.Logger
	now      func() time.Time
	http     *http.Client
	sessions *sessionStore
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New returns the console's handler, to be mounted at "/".
func New(opts Options) http.Handler {
	if opts.Plane == nil {
		panic("console: Options.Plane is required")
	}
	c := &console{plane: opts.Plane, log: opts.Logger, now: opts.Now, http: opts.HTTPClient}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		// Without a CA file Load cannot fail.
		trust, _ := transport.Load(transport.Options{})
		c.http = trust.Client(transport.Tuning{MaxIdleConnsPerHost: 16})
	}
	ttl := opts.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	c.sessions = newSessionStore(ttl, c.now)
	c.pages = parsePages()
	c.routes()
	return c
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

// pageHandler serves a signed-in GET page or POST form.
type pageHandler func(w http.ResponseWriter, r *http.Request, s *session) error

func (c *console) routes() {
	m := http.NewServeMux()
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /signin", c.signinPage)
	m.HandleFunc("POST /signin", c.signin)
	m.Handle("POST /signout", c.post(c.signout))

	m.Handle("GET /{$}", c.get(func(w http.ResponseWriter, r *http.Request, s *session) error {
		http.Redirect(w, r, "/storage", http.StatusSeeOther)
		return nil
	}))

	m.Handle("GET /iam/roles", c.get(c.rolesPage))
	m.Handle("GET /iam/roles/add", c.get(c.addRolePage))
	m.Handle("POST /iam/roles/add", c.post(c.addRole))
	m.Handle("GET /iam/roles/{id}", c.get(c.rolePage))
	m.Handle("POST /iam/roles/{id}/policy", c.post(c.setRolePolicy))
	m.Handle("POST /iam/roles/{id}/delete", c.post(c.deleteRole))
	m.Handle("GET /iam/keys", c.get(c.keysPage))
	m.Handle("POST /iam/keys", c.post(c.createKey))
	m.Handle("POST /iam/keys/{key}/delete", c.post(c.deleteKey))

	m.Handle("GET /storage", c.get(c.bucketsPage))
	m.Handle("GET /storage/add", c.get(c.addBucketPage))
	m.Handle("POST /storage/add", c.post(c.addBucket))
	m.Handle("GET /storage/b/{bucket}", c.get(c.bucketPage))
	m.Handle("POST /storage/b/{bucket}/versioning", c.post(c.setVersioning))
	m.Handle("POST /storage/b/{bucket}/delete", c.post(c.deleteBucket))
	m.Handle("GET /storage/b/{bucket}/replication", c.get(c.replicationPage))
	m.Handle("POST /storage/b/{bucket}/replication", c.post(c.putReplication))
	m.Handle("POST /storage/b/{bucket}/replication/delete", c.post(c.deleteReplication))
	m.Handle("POST /storage/b/{bucket}/replication/retry", c.post(c.retryReplication))
	m.Handle("GET /storage/b/{bucket}/objects", c.get(c.objectsPage))
	m.Handle("GET /storage/b/{bucket}/versions", c.get(c.versionsPage))
	m.Handle("GET /storage/b/{bucket}/download", c.get(c.download))
	m.Handle("POST /storage/b/{bucket}/upload", c.postMultipart(c.upload))
	m.Handle("POST /storage/b/{bucket}/objects/delete", c.post(c.deleteObject))

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil && r.Method == http.MethodGet {
			c.redirectToSignin(w, r)
			return
		}
		if s == nil {
			c.forbidden(w, r)
			return
		}
		c.renderError(w, r, s, http.StatusNotFound, "Page not found", fmt.Sprintf("There is no page at %s.", r.URL.Path))
	})
	c.mux = m
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// get wraps a page: no session → redirect to the sign-in page.
func (c *console) get(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil {
			c.redirectToSignin(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r, s); err != nil {
			c.handleError(w, r, s, err)
		}
	})
}

// post wraps a URL-encoded form: no session → 403; the CSRF token is checked
// before anything else happens.
func (c *console) post(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil {
			c.forbidden(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			c.renderError(w, r, s, http.StatusBadRequest, "Form not understood", "The form could not be read: "+err.Error())
			return
		}
		if !s.checkCSRF(r.PostForm.Get("csrf")) {
			c.csrfRefused(w, r, s)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r, s); err != nil {
			c.handleError(w, r, s, err)
		}
	})
}

// postMultipart wraps a multipart form whose first part must be the CSRF
// token; the handler reads the remaining parts as a stream.
func (c *console) postMultipart(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil {
			c.forbidden(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r, s); err != nil {
			c.handleError(w, r, s, err)
		}
	})
}

func (c *console) redirectToSignin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	target := "/signin"
	if next != "/" && next != "" && r.Method == http.MethodGet {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (c *console) forbidden(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "You are not signed in (or your session ended). Sign in again."})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	c.execute(w, "message", pageData{
		Title:    "Not signed in",
		Message:  "You are not signed in, or your session has ended. Sign in again, then repeat what you were doing.",
		Link:     "/signin",
		LinkText: "Sign in",
	})
}

func (c *console) csrfRefused(w http.ResponseWriter, r *http.Request, s *session) {
	c.log.Warn("console: CSRF token refused", "path", r.URL.Path, "remote", r.RemoteAddr, "key", s.Key)
	if wantsJSON(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "The form's security token is not valid: reload the page and try again."})
		return
	}
	c.renderError(w, r, s, http.StatusForbidden, "Form refused",
		"The form's security token is not valid (it may come from another site, or from before you signed in again). Reload the page and try again.")
}

// userError is an error whose message is meant for the user, with the
// HTTP status of the page that shows it.
type userError struct {
	status int
	title  string
	msg    string
}

func (e *userError) Error() string { return e.msg }

func errorPage(status int, title, format string, args ...any) error {
	return &userError{status: status, title: title, msg: fmt.Sprintf(format, args...)}
}

// handleError shows err as a page: what it is about, in words.
func (c *console) handleError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var ue *userError
	var ce *control.Error
	var se *s3Error
	switch {
	case errors.As(err, &ue):
		c.renderError(w, r, s, ue.status, ue.title, ue.msg)
	case errors.As(err, &se):
		c.renderError(w, r, s, se.httpStatus(), "The zone refused", se.Words())
	case errors.As(err, &ce):
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, control.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, control.ErrConflict):
			status = http.StatusConflict
		}
		c.renderError(w, r, s, status, "The control plane refused", ce.Message)
	case r.Context().Err() != nil:
		// The browser went away; nobody reads an answer.
	default:
		c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		c.renderError(w, r, s, http.StatusInternalServerError, "Something went wrong", err.Error())
	}
}

func (c *console) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	d := c.data(r, s, "", title)
	d.Message = msg
	d.Link = "javascript:history.back()"
	c.render(w, status, "error", d)
}

// pageData is what every template gets; pages add their own in Page.
type pageData struct {
	Title    string
	Section  string // "storage" or "iam": the current menu entry
	User     *userInfo
	CSRF     string
	Flash    *flash
	Message  string
	Link     string
	LinkText string
	Page     any
}

type userInfo struct {
	Key  string
	Root bool
	Role string
}

func (c *console) data(r *http.Request, s *session, section, title string) pageData {
	d := pageData{Title: title, Section: section}
	if s != nil {
		d.CSRF = s.CSRF
		d.User = &userInfo{Key: s.Key, Root: s.Root, Role: s.RoleName}
		d.Flash = c.sessions.takeFlash(s)
	}
	return d
}

func (c *console) render(w http.ResponseWriter, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := c.execute(&buf, name, d); err != nil {
		c.log.Error("console: rendering a page", "page", name, "err", err)
		http.Error(w, "The page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (c *console) execute(w interface{ Write([]byte) (int, error) }, name string, d pageData) error {
	t, ok := c.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	return t.ExecuteTemplate(w, "layout", d)
}

// redirect answers a successful POST: 303 to the next page, with a message
// shown there.
func (c *console) redirect(w http.ResponseWriter, r *http.Request, s *session, to string, f *flash) {
	if f != nil {
		c.sessions.setFlash(s, f)
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}
