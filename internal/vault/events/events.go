package events

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// Type is what kind of thing happened.
type Type string

// Event types: the API's (vaultv1.EventTypes), which owns their list. A rule names the ones it
// wants; Test is sent only by "send a test notification".
const (
	JobFailed          Type = vaultv1.EventJobFailed          // a job ended failed, with no retry left
	JobPartiallyFailed Type = vaultv1.EventJobPartiallyFailed // a job ended with part of its work failed
	RPOBreached        Type = vaultv1.EventRPOBreached        // an instance's newest good recovery point is older than its objective
	AgentUnhealthy     Type = vaultv1.EventAgentUnhealthy     // a cluster's agent stopped reporting
	VerificationFailed Type = vaultv1.EventVerificationFailed // a verification found a recovery point damaged, or could not read it
	TestRestoreFailed  Type = vaultv1.EventTestRestoreFailed  // a test restore failed a check
	Test               Type = vaultv1.EventTest               // a test notification
)

// Parse checks that name is an event type a rule may ask for.
func Parse(name string) (Type, error) {
	if !slices.Contains(vaultv1.EventTypes, name) {
		return "", fmt.Errorf("event %q: not an event type; use one of %s", name, strings.Join(vaultv1.EventTypes, ", "))
	}
	return Type(name), nil
}

// Event is one thing that happened in a vault.
type Event struct {
	ID    int64 // the store's, once recorded
	Vault string
	Type  Type
	// Key makes the event happen once: recording a second event of the same key does nothing.
	Key           string
	At            time.Time
	Instance      string // empty when of no instance
	Cluster       string
	Job           int64 // 0 when of no job
	RecoveryPoint string
	// Summary is one line for a person ("backup of instance shop failed: ...").
	Summary string
	// Details are further facts as name/value pairs, in a fixed order.
	Details []Detail
}

// Detail is one named fact of an event.
type Detail struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// maxSummary bounds a summary: a job's error may be long; the job's page has all of it.
const maxSummary = 500

// Summarise returns s on one line, cut to a length every channel carries.
func Summarise(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxSummary {
		return s
	}
	cut := maxSummary - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
