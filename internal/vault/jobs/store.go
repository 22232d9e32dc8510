package jobs

import (
	"context"
	"iter"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/events"
)

// Store is what the life cycle needs of the vault's database. It holds what the life cycle
// decides: each change of a job applies only while the job is still as the life cycle found it
// (compare and set), so an agent, the scheduler and a user, or two vault processes, never move one
// job twice. A method given a vault sees only that vault's objects.
type Store interface {
	// GetJob reads a job; ErrNotFound when the vault has none of that ID.
	GetJob(ctx context.Context, vault string, id int64) (Record, error)
	// HasOpenJob tells whether the instance has a queued or running job of the kind (for
	// recovery point rp, unless it is empty).
	HasOpenJob(ctx context.Context, vault, instance string, kind Kind, rp string) (bool, error)
	// ExpiredLeases lists the running jobs of every vault whose lease ended before now, oldest
	// first.
	ExpiredLeases(ctx context.Context, now time.Time) ([]JobRef, error)
	// ClaimJob moves the cluster's oldest queued job of one of kinds whose lease key no running
	// job holds to Running, started at now and leased until leaseUntil. ok is false when there is
	// none, or when another claim took that key first.
	ClaimJob(ctx context.Context, vault, cluster string, kinds []string, now, leaseUntil time.Time) (id int64, ok bool, err error)
	// InTx runs fn in one transaction, committed if fn returns nil.
	InTx(ctx context.Context, fn func(Tx) error) error
	// InTxBatches calls fn for units of work 0 to n-1 in order, in batches [from, to) of as many
	// as the store may hold its write lock for, a transaction each, and stops at the first error.
	// It returns how many units were committed.
	InTxBatches(ctx context.Context, n int, fn func(tx Tx, from, to int) error) (int, error)
}

// Tx is a transaction of the Store.
type Tx interface {
	// GetJob is Store.GetJob in the transaction.
	GetJob(ctx context.Context, vault string, id int64) (Record, error)
	// InsertJob stores a new job (r.ID is ignored) and returns its ID.
	InsertJob(ctx context.Context, vault string, r Record) (int64, error)
	// InsertJobs stores new jobs of distinct recovery points in one statement and returns their
	// IDs, in order.
	InsertJobs(ctx context.Context, vault string, rs []Record) ([]int64, error)
	// TakenRecoveryPointNames tells which of names a backup job of the vault has made or is
	// making as its recovery point.
	TakenRecoveryPointNames(ctx context.Context, vault string, names []string) (map[string]bool, error)
	// FreeRecoveryPointName returns the first of candidates that no backup job of the vault has
	// made or is making as its recovery point.
	FreeRecoveryPointName(ctx context.Context, vault string, candidates iter.Seq[string]) (string, error)
	// RenewLease leases a job Running on the cluster until until and records its progress; it
	// returns whether a user asked to cancel it. ok is false when the job is not Running on the
	// cluster.
	RenewLease(ctx context.Context, vault, cluster string, id int64, until time.Time, p Progress) (cancel, ok bool, err error)
	// RequestCancel asks the agent of a Running job to stop; ok is false when it is not Running.
	RequestCancel(ctx context.Context, vault string, id int64) (ok bool, err error)
	// FinishJob ends a job as end says and releases its lease, if the job is as from says; ok is
	// false when it is not.
	FinishJob(ctx context.Context, vault string, id int64, from Guard, end End) (ok bool, err error)
	// AppendLogs adds lines to a job's log, numbering them after its last.
	AppendLogs(ctx context.Context, id int64, lines []LogLine) error
	// InsertRecoveryPoint records the recovery point a backup made; ErrExists when the vault has
	// one of that name.
	InsertRecoveryPoint(ctx context.Context, vault string, rp RecoveryPoint) error
	// InstancePoints maps the names of the instance's recovery points in the catalogue to whether
	// each was deleted.
	InstancePoints(ctx context.Context, vault, instance string) (map[string]bool, error)
	// MarkRecoveryPointDeleted records that the recovery point was deleted at at.
	MarkRecoveryPointDeleted(ctx context.Context, vault, name string, at time.Time) error
	// RecordScheduledRuns records each mark's time as the time of its instance's last scheduled
	// run, if it is later than the one recorded; Queued counts a scheduled backup queued for it,
	// Copies records the time as its last copy's run. It tells which marks it recorded: an
	// instance whose last scheduled run is at or after the mark's already (another scheduler
	// recorded it) is left as it is.
	RecordScheduledRuns(ctx context.Context, vault string, marks []RunMark) (recorded []bool, err error)
	// RecordVerification records at as when a verification of the instance was last queued, of
	// its data too when data is set.
	RecordVerification(ctx context.Context, vault, instance string, at time.Time, data bool) error
	// MarkSnapshotsDeleted records that the recovery point's volume snapshots were deleted: no
	// claim is held by a snapshot any more, its snapshot bytes are 0 and the volumes it protects
	// are those it copied.
	MarkSnapshotsDeleted(ctx context.Context, vault, name string) error
	// RecordTestRestore records at as when the scheduler last queued a test restore of the
	// instance.
	RecordTestRestore(ctx context.Context, vault, instance string, at time.Time) error
	// RecordEvent records e, unless its vault has an event of its key; recorded is false then.
	RecordEvent(ctx context.Context, e events.Event) (recorded bool, err error)
}

// JobRef names a job of a vault.
type JobRef struct {
	Vault string
	ID    int64
}

// Guard is what a job must still be for a change to apply.
type Guard struct {
	State State
	// LeaseEndedBefore, when set, also asks that the job's lease ended before it: an agent that
	// reported meanwhile keeps its job.
	LeaseEndedBefore time.Time
}

// End is how a job ends.
type End struct {
	State  State
	Error  string
	Result []byte // an agentv1.JobResult; nil for none
	At     time.Time
}

// LogLine is one line of a job's log.
type LogLine struct {
	Time    time.Time
	Level   string // info, warn, error
	Message string
}

// RecoveryPoint is the recovery point a backup made, as its job's completion records it.
type RecoveryPoint struct {
	Name          string
	Instance      string
	Cluster       string
	Time          time.Time // when the backup completed
	Phase         string    // the backup's: archive.Phase*
	Items         int64
	RawBytes      int64
	StoredBytes   int64
	Namespaces    []string
	Volumes       int
	VolumesFailed int
	SnapshotBytes int64
	OnDemand      bool
	ExpiresAt     *time.Time
	Job           int64
	// The copy tier: volumes copied, their bytes, what they added; the tiers of each claim.
	VolumesCopied  int
	CopyBytes      int64
	CopyAddedBytes int64
	VolumeTiers    []agentv1.VolumeTiers
	// LockedUntil is when its files stop being immutable in storage (nil: not locked).
	LockedUntil *time.Time
}
