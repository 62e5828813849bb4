package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"sos/internal/control"
)

const cookieName = "sos_console"

// session is one signed-in browser. Its fields other than flash are set at
// sign-in and read-only afterwards.
type session struct {
	ID       string
	Key      string
	Secret   string
	Root     bool
	RoleID   string
	RoleName string
	CSRF     string

	lastSeen time.Time
	flash    *flash
}

// principal is who the session acts as, for control's Authorize.
func (s *session) principal() control.Principal {
	return control.Principal{Key: s.Key, Root: s.Root, RoleID: s.RoleID}
}

// flash is a one-time message shown on the next page. Field names what it
// is about (a form field or section), "" for the top of the page.
type flash struct {
	Error  bool
	Field  string
	Text   string
	Secret *createdKey // an API key's secret, shown once
}

type createdKey struct {
	Key, Secret, Name, Role string
}

func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// sessionStore keeps sessions in memory.
type sessionStore struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	byID map[string]*session
}

func newSessionStore(ttl time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{ttl: ttl, now: now, byID: map[string]*session{}}
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (st *sessionStore) create(s *session) *session {
	s.ID = randomToken()
	s.CSRF = randomToken()
	now := st.now()
	s.lastSeen = now
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, o := range st.byID {
		if now.Sub(o.lastSeen) > st.ttl {
			delete(st.byID, id)
		}
	}
	st.byID[s.ID] = s
	return s
}

func (st *sessionStore) get(id string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byID[id]
	if !ok {
		return nil
	}
	now := st.now()
	if now.Sub(s.lastSeen) > st.ttl {
		delete(st.byID, id)
		return nil
	}
	s.lastSeen = now
	return s
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, id)
}

// removeKey ends every session of an API key (after it is revoked).
func (st *sessionStore) removeKey(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, s := range st.byID {
		if s.Key == key {
			delete(st.byID, id)
		}
	}
}

func (st *sessionStore) setFlash(s *session, f *flash) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.flash = f
}

func (st *sessionStore) takeFlash(s *session) *flash {
	st.mu.Lock()
	defer st.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

// sessionOf returns the request's session, or nil. A session whose key was
// revoked (or whose secret changed) ends here.
func (c *console) sessionOf(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil
	}
	s := c.sessions.get(ck.Value)
	if s == nil {
		return nil
	}
	secret, _, ok := c.plane.LookupKey(s.Key)
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(s.Secret)) != 1 {
		c.sessions.remove(s.ID)
		return nil
	}
	return s
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

type signinPage struct {
	Key   string
	Next  string
	Error string
	CSRF  string
}

// signinCookie holds the sign-in form's CSRF token, which the form sends
// back in its csrf field (a double submit). Another site can make a
// visitor's browser post to /signin, but it can neither read nor set this
// cookie, so it cannot sign the visitor in with the attacker's own key.
const signinCookie = "sos_signin"

// signinToken returns the sign-in CSRF token of r's browser, setting a new
// one when it has none.
func signinToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(signinCookie); err == nil && len(ck.Value) >= 43 {
		return ck.Value
	}
	t := randomToken()
	http.SetCookie(w, &http.Cookie{
		Name:     signinCookie,
		Value:    t,
		Path:     "/signin",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return t
}

// signinTokenMatches reports whether the posted csrf field is the token of
// the browser's sign-in cookie.
func signinTokenMatches(r *http.Request) bool {
	ck, err := r.Cookie(signinCookie)
	posted := r.PostForm.Get("csrf")
	return err == nil && len(ck.Value) >= 43 && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(posted)) == 1
}

func (c *console) signinPage(w http.ResponseWriter, r *http.Request) {
	if s := c.sessionOf(r); s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	d := c.data(r, nil, "", "Sign in")
	d.Page = signinPage{Next: r.URL.Query().Get("next"), CSRF: signinToken(w, r)}
	c.render(w, http.StatusOK, "signin", d)
}

func (c *console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	secret := strings.TrimSpace(r.PostForm.Get("secret"))
	next := r.PostForm.Get("next")
	fail := func(status int, msg string) {
		w.Header().Set("Cache-Control", "no-store")
		d := c.data(r, nil, "", "Sign in")
		d.Page = signinPage{Key: key, Next: next, Error: msg, CSRF: signinToken(w, r)}
		c.render(w, status, "signin", d)
	}
	if !signinTokenMatches(r) {
		c.log.Warn("console sign-in refused: CSRF token", "remote", r.RemoteAddr)
		fail(http.StatusForbidden, "This sign-in form has expired or was sent from another site: sign in again with this form.")
		return
	}
	if key == "" || secret == "" {
		fail(http.StatusUnauthorized, "Enter your API key and its secret.")
		return
	}
	want, who, ok := c.plane.LookupKey(key)
	// Compare even when the key is unknown, so that timing says nothing.
	match := subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1
	if !ok || !match {
		c.log.Info("console sign-in refused", "key", key, "remote", r.RemoteAddr)
		fail(http.StatusUnauthorized, "This API key and secret do not match any key of this sos deployment.")
		return
	}
	s := &session{Key: key, Secret: secret, Root: who.Root, RoleID: who.RoleID}
	if !who.Root {
		if role, err := c.plane.Role(r.Context(), who.RoleID); err == nil {
			s.RoleName = role.Name
		}
	}
	c.sessions.create(s)
	setSessionCookie(w, r, s.ID, 0)
	c.log.Info("console sign-in", "key", key, "root", who.Root, "remote", r.RemoteAddr)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (c *console) signout(w http.ResponseWriter, r *http.Request, s *session) error {
	c.sessions.remove(s.ID)
	setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in target on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/storage"
	}
	return next
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		buf = []byte(`{"error":"internal error: encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf)
}
