package api

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// auditNoteKey carries a request's audit note through its context.
type auditNoteKey struct{}

// auditNote is what a handler adds to its call's audit entry (the token it made, with which role),
// and the vault whose audit records the call besides the caller's (the administrator's token made
// in a vault).
type auditNote struct{ object, alsoVault string }

// withAuditNote gives the request a note its handler may fill.
func withAuditNote(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, &auditNote{}))
}

// noteAudit sets what the audit entry of r names as its object, instead of the path.
func noteAudit(r *http.Request, object string) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.object = object
	}
}

// noteAuditAlsoIn has the call recorded in vault's audit as well as in the caller's.
func noteAuditAlsoIn(r *http.Request, vault string) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.alsoVault = vault
	}
}

// auditAlsoIn is the vault noteAuditAlsoIn named, if any.
func auditAlsoIn(r *http.Request) string {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		return n.alsoVault
	}
	return ""
}

// auditObject is the object of r's audit entry: its path with its handler's note, if any, and,
// for an approved request's replay, the request and its approver.
func auditObject(r *http.Request) string {
	object := r.URL.Path
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok && n.object != "" {
		object += ": " + n.object
	}
	return object + replayAuditNote(r)
}

// clientAddress is the address a request came from (the connection's, never a header a client
// could write).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Refused calls without a known token are audited at most refusedPerMinute times a minute per
// source, for at most refusedSources sources a minute (the rest share one allowance): a scan
// cannot flood the audit log or the vault's memory.
const (
	refusedPerMinute = 10
	refusedSources   = 1000
	refusedOthers    = "other sources"
)

// refusedLimiter counts audited refusals per source in the current minute.
type refusedLimiter struct {
	mu     sync.Mutex
	minute time.Time
	counts map[string]int
}

func newRefusedLimiter() *refusedLimiter { return &refusedLimiter{counts: map[string]int{}} }

// allow says whether a refusal from source at now is audited, and counts it.
func (l *refusedLimiter) allow(source string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := now.Truncate(time.Minute); !m.Equal(l.minute) {
		l.minute, l.counts = m, map[string]int{}
	}
	if _, known := l.counts[source]; !known && len(l.counts) >= refusedSources {
		source = refusedOthers
	}
	if l.counts[source] >= refusedPerMinute {
		return false
	}
	l.counts[source]++
	return true
}
