package ui

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

const (
	sessionCookie = "cairn_session"
	// sessionIdle is how long a session lives without a request.
	sessionIdle = 12 * time.Hour
	// sessionTouch is how stale a session's recorded last use may get before a request records
	// it again: a write per page would queue every page behind the database's writer.
	sessionTouch = time.Minute
)

// SessionStore keeps sign-in sessions where every replica of the vault finds them
// (docs/design/vault.md, "Replicas").
type SessionStore interface {
	CreateSession(ctx context.Context, s StoredSession) error
	// GetSession reads a session; found is false when there is none of that ID.
	GetSession(ctx context.Context, id string) (s StoredSession, found bool, err error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// PruneSessions deletes the sessions last used before before.
	PruneSessions(ctx context.Context, before time.Time) error
}

// StoredSession is a session as the SessionStore keeps it: ID is a hash of the cookie's secret,
// and the API token is sealed under a key derived from that secret, which only the browser
// holds: the database alone signs no one in.
type StoredSession struct {
	ID, Vault, Name, Role string
	TokenSealed           string
	CSRF                  string
	SSO                   bool
	CreatedAt, LastSeen   time.Time
}

// session is one signed-in person.
type session struct {
	id       string // the cookie's secret
	token    string // the API token signed in with; never leaves the server
	vault    string
	name     string
	role     string
	csrf     string
	lastSeen time.Time
	// sso says the token was minted for this session by single sign-on: signing out revokes it.
	sso bool
}

// sessions are the sign-in sessions, in the SessionStore.
type sessions struct {
	st  SessionStore
	now func() time.Time
}

// create starts a session for a token whose principal the caller has checked; sso says single
// sign-on minted the token.
func (ss *sessions) create(ctx context.Context, token, vault, name, role string, sso bool) (*session, error) {
	s := &session{id: randomID(), token: token, vault: vault, name: name, role: role, csrf: randomID(), lastSeen: ss.now(), sso: sso}
	if err := ss.st.PruneSessions(ctx, s.lastSeen.Add(-sessionIdle)); err != nil {
		return nil, err
	}
	id, aead, err := sessionKeys(s.id)
	if err != nil {
		return nil, err
	}
	sealed, err := sealText(aead, []byte(token), []byte(id))
	if err != nil {
		return nil, err
	}
	err = ss.st.CreateSession(ctx, StoredSession{ID: id, Vault: vault, Name: name, Role: role, TokenSealed: sealed, CSRF: s.csrf, SSO: sso,
		CreatedAt: s.lastSeen, LastSeen: s.lastSeen})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// lookup returns the request's live session, or nil, and records its use.
func (ss *sessions) lookup(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	id, aead, err := sessionKeys(c.Value)
	if err != nil {
		return nil, err
	}
	stored, found, err := ss.st.GetSession(r.Context(), id)
	if err != nil || !found {
		return nil, err
	}
	now := ss.now()
	if now.Sub(stored.LastSeen) > sessionIdle {
		return nil, ss.st.DeleteSession(r.Context(), id)
	}
	token, ok := openText(aead, stored.TokenSealed, []byte(id))
	if !ok {
		return nil, nil // not this cookie's session: its hash matched, its key did not
	}
	if now.Sub(stored.LastSeen) > sessionTouch {
		if err := ss.st.TouchSession(r.Context(), id, now); err != nil {
			return nil, err
		}
		stored.LastSeen = now
	}
	return &session{id: c.Value, token: string(token), vault: stored.Vault, name: stored.Name, role: stored.Role, csrf: stored.CSRF,
		lastSeen: stored.LastSeen, sso: stored.SSO}, nil
}

// end forgets a session.
func (ss *sessions) end(ctx context.Context, secret string) error {
	id, _, err := sessionKeys(secret)
	if err != nil {
		return err
	}
	return ss.st.DeleteSession(ctx, id)
}

// sessionKeys derives from a session's secret its ID in the store and the key its token is
// sealed with.
func sessionKeys(secret string) (id string, aead cipher.AEAD, err error) {
	sum := sha256.Sum256([]byte("cairn session id\x00" + secret))
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "cairn session token key", 32)
	if err != nil {
		return "", nil, err
	}
	aead, err = newAEAD(key)
	if err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(sum[:]), aead, nil
}

// validCSRF says whether a form's token is the session's.
func (s *session) validCSRF(token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

// canOperate and canContribute decide which action buttons a page shows; the API decides what
// is allowed.
func (s *session) canOperate() bool {
	return s.role == access.RoleOperator || s.role == access.RoleContributor
}

func (s *session) canContribute() bool { return s.role == access.RoleContributor }

// randomID is 128 random bits, as text.
func randomID() string { return rand.Text() }
