package iam

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TempKeyPrefix starts the access key of every temporary role credential.
const TempKeyPrefix = "SOSTMP"

// Errors of the Authorizer and of temporary credentials; match with errors.Is.
var (
	ErrUnknownKey   = errors.New("unknown access key")
	ErrInvalidToken = errors.New("invalid session token")
	ErrExpiredToken = errors.New("expired session token")
)

// TempCredentials are short-lived credentials acting as a role. They are
// stateless: any zone that knows the HMAC key verifies them without asking
// anyone, and the secret is derived from the key and the access key.
type TempCredentials struct {
	AccessKey    string
	Secret       string
	SessionToken string
	Expiration   time.Time
}

const (
	tokenVersion   = "v2"
	tokenMACLabel  = "sos session token v1\x00"
	secretMACLabel = "sos temporary secret v1\x00"
)

// zoneTempKeyLabel prefixes the zone name in ZoneTempKey.
const zoneTempKeyLabel = "sos-temp-credentials/"

// ZoneTempKey derives from the control plane's master key the key that
// mints and verifies temporary credentials for zone alone:
// HMAC-SHA256(master, "sos-temp-credentials/" + zone). A zone receives only
// its own derived key, so it can neither mint credentials another zone
// accepts nor recover the master key.
func ZoneTempKey(master []byte, zone string) []byte {
	h := hmac.New(sha256.New, master)
	h.Write([]byte(zoneTempKeyLabel + zone))
	return h.Sum(nil)
}

// IssueTempCredentials issues credentials acting as roleID until now+ttl,
// valid only in zone audience. The session token carries the access key, the
// role ID, the expiry and the audience, authenticated with HMAC-SHA256 under
// key; the secret is HMAC-SHA256(key, access key), so it is never stored. key
// must be the audience's key (ZoneTempKey of a master secret of at least 32
// random bytes); credentials issued under an empty key are refused by every
// verifier.
func IssueTempCredentials(key []byte, audience, roleID string, now time.Time, ttl time.Duration) TempCredentials {
	accessKey := TempKeyPrefix + rand.Text()
	exp := now.Add(ttl).Truncate(time.Second)
	payload := strings.Join([]string{tokenVersion, accessKey, roleID, strconv.FormatInt(exp.Unix(), 10), audience}, "\n")
	mac := tokenMAC(key, payload)
	enc := base64.RawURLEncoding
	return TempCredentials{
		AccessKey:    accessKey,
		Secret:       tempSecret(key, accessKey),
		SessionToken: enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(mac),
		Expiration:   exp.UTC(),
	}
}

func tokenMAC(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(tokenMACLabel))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

func tempSecret(key []byte, accessKey string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(secretMACLabel))
	h.Write([]byte(accessKey))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// tempSession is a verified session token.
type tempSession struct {
	accessKey string
	roleID    string
	expires   time.Time
}

// verifyTempToken checks that token was issued for zone (the audience),
// its MAC under key (in constant time), that it was issued for accessKey, and
// that it has not expired at now. Errors wrap ErrInvalidToken or
// ErrExpiredToken.
func verifyTempToken(key []byte, zone, accessKey, token string, now time.Time) (tempSession, error) {
	if len(key) == 0 {
		return tempSession{}, fmt.Errorf("%w: temporary credentials are not enabled", ErrInvalidToken)
	}
	if token == "" {
		return tempSession{}, fmt.Errorf("%w: temporary access key %s needs a session token", ErrInvalidToken, accessKey)
	}
	payloadB64, macB64, ok := strings.Cut(token, ".")
	if !ok {
		return tempSession{}, fmt.Errorf("%w: malformed token", ErrInvalidToken)
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(payloadB64)
	mac, err2 := enc.DecodeString(macB64)
	if err1 != nil || err2 != nil {
		return tempSession{}, fmt.Errorf("%w: malformed token", ErrInvalidToken)
	}
	parts := strings.Split(string(payload), "\n")
	if len(parts) != 5 || parts[0] != tokenVersion {
		return tempSession{}, fmt.Errorf("%w: unsupported token version", ErrInvalidToken)
	}
	if parts[4] != zone {
		return tempSession{}, fmt.Errorf("%w: the credentials were issued for zone %q, not for this zone %q", ErrInvalidToken, parts[4], zone)
	}
	if !hmac.Equal(mac, tokenMAC(key, string(payload))) {
		return tempSession{}, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	expUnix, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return tempSession{}, fmt.Errorf("%w: malformed expiry", ErrInvalidToken)
	}
	s := tempSession{accessKey: parts[1], roleID: parts[2], expires: time.Unix(expUnix, 0).UTC()}
	if !hmac.Equal([]byte(s.accessKey), []byte(accessKey)) {
		return tempSession{}, fmt.Errorf("%w: token was issued for another access key", ErrInvalidToken)
	}
	if !now.Before(s.expires) {
		return tempSession{}, fmt.Errorf("%w: expired at %s", ErrExpiredToken, s.expires.Format(time.RFC3339))
	}
	return s, nil
}
