package jobs

import "github.com/cairnbackup/cairn/api/agentv1"

// State is where a job is in its life cycle.
type State string

// Job states. A job is queued, then running once an agent claims it, then ends in one of the four
// final states, which no move leads out of. A running job a user cancels stays running, with its
// cancel requested, until its agent stops and reports it cancelled.
const (
	Queued          State = "queued"
	Running         State = "running"
	Succeeded       State = "succeeded"
	PartiallyFailed State = "partially-failed"
	Failed          State = "failed"
	Cancelled       State = "cancelled"
)

// moves lists the states each state may become.
var moves = map[State][]State{
	// Claimed by its cluster's agent; cancelled by a user; failed when its cluster is revoked.
	Queued: {Running, Cancelled, Failed},
	// Completed by its agent in any final state; failed when its lease runs out or its cluster is
	// revoked.
	Running: {Succeeded, PartiallyFailed, Failed, Cancelled},
}

// CanMove tells whether a job in state from may move to state to.
func CanMove(from, to State) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Kind is what a job does.
type Kind string

// Job kinds: the agent protocol's (agentv1.Kinds), which owns their list.
const (
	KindBackup          Kind = agentv1.KindBackup
	KindRestore         Kind = agentv1.KindRestore
	KindRetentionDelete Kind = agentv1.KindRetentionDelete
	KindVerify          Kind = agentv1.KindVerify
	// KindRetentionExpireSnapshots deletes a recovery point's snapshots and keeps its copies.
	KindRetentionExpireSnapshots Kind = agentv1.KindRetentionExpireSnapshots
	KindBrowse                   Kind = agentv1.KindBrowse
	KindFetch                    Kind = agentv1.KindFetch
	KindValidate                 Kind = agentv1.KindValidate
	KindTestRestore              Kind = agentv1.KindTestRestore
	KindInventory                Kind = agentv1.KindInventory
)

// Why a job was queued (a job's trigger).
const (
	TriggerScheduled = "scheduled"
	TriggerOnDemand  = "on-demand"
	TriggerRetention = "retention"
	TriggerUser      = "user"
	TriggerRetry     = "retry"
)
