package ui

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
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
	// UpdateSession stores a session's vaults after a change (every field but ID, CSRF and times).
	UpdateSession(ctx context.Context, s StoredSession) error
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// PruneSessions deletes the sessions last used before before.
	PruneSessions(ctx context.Context, before time.Time) error
}

// StoredSession is a session as the SessionStore keeps it: ID is a hash of the cookie's secret,
// and the API tokens are sealed under a key derived from that secret, which only the browser
// holds: the database alone signs no one in. Vault, Name, Role, TokenSealed and SSO are the vault
// the pages show; VaultsSealed is every vault signed in to ("": that one alone).
type StoredSession struct {
	ID, Vault, Name, Role string
	TokenSealed           string
	VaultsSealed          string
	CSRF                  string
	SSO                   bool
	CreatedAt, LastSeen   time.Time
}

// sessionVault is one vault a session signed in to, with the token it calls that vault's API
// with (which never leaves the server).
type sessionVault struct {
	Vault string `json:"vault"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Token string `json:"token"`
	// SSO says single sign-on minted the token for this session: signing out revokes it.
	SSO bool `json:"sso,omitempty"`
}

// session is one signed-in person: the vault its pages show, and every vault it signed in to.
type session struct {
	sessionVault
	id       string // the cookie's secret
	csrf     string
	lastSeen time.Time
	vaults   []sessionVault // by vault name, the shown one among them
}

// sessions are the sign-in sessions, in the SessionStore.
type sessions struct {
	st  SessionStore
	now func() time.Time
}

// create starts a session showing shown, holding the vaults in all too (shown among them or not).
func (ss *sessions) create(ctx context.Context, shown sessionVault, all []sessionVault) (*session, error) {
	s := &session{sessionVault: shown, id: randomID(), csrf: randomID(), lastSeen: ss.now()}
	s.vaults = withVault(all, shown)
	if err := ss.st.PruneSessions(ctx, s.lastSeen.Add(-sessionIdle)); err != nil {
		return nil, err
	}
	stored, err := s.sealed()
	if err != nil {
		return nil, err
	}
	stored.CreatedAt, stored.LastSeen = s.lastSeen, s.lastSeen
	return s, ss.st.CreateSession(ctx, stored)
}

// update stores what a session holds and shows after a change of vaults.
func (ss *sessions) update(ctx context.Context, s *session) error {
	stored, err := s.sealed()
	if err != nil {
		return err
	}
	return ss.st.UpdateSession(ctx, stored)
}

// sealed is the session as the store keeps it, its tokens sealed; without times.
func (s *session) sealed() (StoredSession, error) {
	id, aead, err := sessionKeys(s.id)
	if err != nil {
		return StoredSession{}, err
	}
	token, err := sealText(aead, []byte(s.Token), []byte(id))
	if err != nil {
		return StoredSession{}, err
	}
	stored := StoredSession{ID: id, Vault: s.Vault, Name: s.Name, Role: s.Role, TokenSealed: token, CSRF: s.csrf, SSO: s.SSO}
	if len(s.vaults) > 1 {
		all, err := json.Marshal(s.vaults)
		if err != nil {
			return StoredSession{}, err
		}
		if stored.VaultsSealed, err = sealText(aead, all, []byte(id+vaultsAD)); err != nil {
			return StoredSession{}, err
		}
	}
	return stored, nil
}

// vaultsAD tells the sealed list of vaults from the sealed token, so that neither opens as the other.
const vaultsAD = "\x00vaults"

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
	shown := sessionVault{Vault: stored.Vault, Name: stored.Name, Role: stored.Role, Token: string(token), SSO: stored.SSO}
	var all []sessionVault
	if stored.VaultsSealed != "" {
		plain, ok := openText(aead, stored.VaultsSealed, []byte(id+vaultsAD))
		if !ok || json.Unmarshal(plain, &all) != nil {
			return nil, nil
		}
	}
	if now.Sub(stored.LastSeen) > sessionTouch {
		if err := ss.st.TouchSession(r.Context(), id, now); err != nil {
			return nil, err
		}
		stored.LastSeen = now
	}
	return &session{sessionVault: shown, id: c.Value, csrf: stored.CSRF, lastSeen: stored.LastSeen, vaults: withVault(all, shown)}, nil
}

// end forgets a session.
func (ss *sessions) end(ctx context.Context, secret string) error {
	id, _, err := sessionKeys(secret)
	if err != nil {
		return err
	}
	return ss.st.DeleteSession(ctx, id)
}

// withVault is the vaults with v in, in place of one of its name, sorted by name.
func withVault(vaults []sessionVault, v sessionVault) []sessionVault {
	out := slices.DeleteFunc(slices.Clone(vaults), func(o sessionVault) bool { return o.Vault == v.Vault })
	out = append(out, v)
	slices.SortFunc(out, func(a, b sessionVault) int { return strings.Compare(a.Vault, b.Vault) })
	return out
}

// show makes the session's pages show v, which it holds from now on.
func (s *session) show(v sessionVault) {
	s.sessionVault = v
	s.vaults = withVault(s.vaults, v)
}

// drop forgets vault name, which must not be the one shown.
func (s *session) drop(name string) {
	s.vaults = slices.DeleteFunc(s.vaults, func(o sessionVault) bool { return o.Vault == name })
}

// dropShown forgets the vault shown and shows the first other one; false when it held no other.
func (s *session) dropShown() bool {
	s.drop(s.Vault)
	if len(s.vaults) == 0 {
		return false
	}
	s.sessionVault = s.vaults[0]
	return true
}

// holding returns the session's vault of that name.
func (s *session) holding(name string) (sessionVault, bool) {
	i := slices.IndexFunc(s.vaults, func(o sessionVault) bool { return o.Vault == name })
	if i < 0 {
		return sessionVault{}, false
	}
	return s.vaults[i], true
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
	return s.Role == access.RoleOperator || s.Role == access.RoleContributor
}

func (s *session) canContribute() bool { return s.Role == access.RoleContributor }

// randomID is 128 random bits, as text.
func randomID() string { return rand.Text() }
