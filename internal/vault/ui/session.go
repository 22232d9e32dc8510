package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

const (
	sessionCookie = "cairn_session"
	// sessionIdle is how long a session lives without a request.
	sessionIdle = 12 * time.Hour
)

// session is one signed-in person. It lives only in the vault's memory: the cookie names it by a
// random ID and carries nothing else, and a vault restart signs everyone out.
type session struct {
	id       string
	token    string // the API token signed in with; never leaves the server
	vault    string
	name     string
	role     string
	csrf     string
	lastSeen time.Time
	// sso says the token was minted for this session by single sign-on: signing out revokes it.
	sso bool
}

// sessions is the set of live sessions.
type sessions struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

// create starts a session for a token whose principal the caller has checked.
func (ss *sessions) create(token, vault, name, role string) *session {
	s := &session{id: randomID(), token: token, vault: vault, name: name, role: role, csrf: randomID(), lastSeen: ss.now()}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expire()
	ss.m[s.id] = s
	return s
}

// lookup returns the request's live session, or nil, and marks it seen.
func (ss *sessions) lookup(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil {
		return nil
	}
	if ss.now().Sub(s.lastSeen) > sessionIdle {
		delete(ss.m, s.id)
		return nil
	}
	s.lastSeen = ss.now()
	copied := *s
	return &copied
}

// markSSO records that a session signed in through single sign-on.
func (ss *sessions) markSSO(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.m[id]; s != nil {
		s.sso = true
	}
}

// end forgets a session.
func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// expire drops idle sessions; the caller holds mu.
func (ss *sessions) expire() {
	for id, s := range ss.m {
		if ss.now().Sub(s.lastSeen) > sessionIdle {
			delete(ss.m, id)
		}
	}
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
