// Package vaultv1 is version 1 of the vault's public REST API, /api/v1 (docs/design/vault.md,
// docs/api/openapi.json): the JSON shapes the vault serves and takes, which the CLI and the Backup
// center read through the vault's Go client. It is a contract with programs that upgrade apart
// from the vault, so it changes only by addition; it imports nothing of cairn, and it is apart
// from the agent protocol (api/agentv1), which versions on its own.
package vaultv1

import "time"

// List is the envelope of every list response. Next, when set, is the cursor of the following
// page (pass it as ?cursor=).
type List[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Cluster health.
const (
	HealthPending   = "pending"   // registered, the agent has not reported yet
	HealthHealthy   = "healthy"   // the agent reported within the last three heartbeats
	HealthUnhealthy = "unhealthy" // the agent stopped reporting
	HealthRevoked   = "revoked"   // the trust grant was revoked
)

// Cluster is a cluster bound to the vault by a trust grant.
type Cluster struct {
	Name              string     `json:"name"`
	Health            string     `json:"health"`
	RegisteredAt      time.Time  `json:"registeredAt"`
	LastHeartbeat     *time.Time `json:"lastHeartbeat,omitempty"`
	AgentVersion      string     `json:"agentVersion,omitempty"`
	KubernetesVersion string     `json:"kubernetesVersion,omitempty"`
	// Namespaces are the names of the cluster's namespaces as its agent last reported them,
	// sorted; nil until it does.
	Namespaces []string `json:"namespaces,omitempty"`
}

// ClusterRegistration is the request of POST /api/v1/clusters.
type ClusterRegistration struct {
	Name string `json:"name"`
	// Grant is the trust grant the manifest gives the agent: full (the default: backup and
	// restore) or backup-only (restores need the restore grant added).
	Grant string `json:"grant,omitempty"`
}

// TrustGrant is the answer to a registration: the agent's token (shown once; the vault keeps
// only its hash) and the manifest that grants the agent its scoped identity in the cluster.
type TrustGrant struct {
	Cluster    Cluster `json:"cluster"`
	AgentToken string  `json:"agentToken"`
	Manifest   string  `json:"manifest"`
	// Grant is the trust grant the manifest gives: full or backup-only.
	Grant string `json:"grant"`
}

// BackupConfig is what an instance backs up. The filters mean what the CLI's flags of the same
// names mean (cairn backup create --help).
type BackupConfig struct {
	IncludeNamespaces []string `json:"includeNamespaces,omitempty"`
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	IncludeResources  []string `json:"includeResources,omitempty"`
	ExcludeResources  []string `json:"excludeResources,omitempty"`
	LabelSelectors    []string `json:"labelSelectors,omitempty"`   // OR of selectors
	ClusterResources  string   `json:"clusterResources,omitempty"` // auto (default), true, false
	SnapshotVolumes   bool     `json:"snapshotVolumes"`
	// SnapshotClass is the snapshot location: the VolumeSnapshotClass (default: the driver's default).
	SnapshotClass string   `json:"snapshotClass,omitempty"`
	BackupHooks   []string `json:"backupHooks,omitempty"` // BackupHook references, NAMESPACE/NAME
	// VolumeData is what backups keep of each volume: snapshot (default), copy or snapshot+copy.
	VolumeData string `json:"volumeData,omitempty"`
}

// StorageLocation is where an instance's recovery points live. The vault holds no credential:
// the agent reads the storage credential from its own environment and the repository passphrase
// from its secret named PassphraseSecret (docs/design/vault.md, "Agent secrets").
type StorageLocation struct {
	URL              string `json:"url"` // file://, s3://, azblob:// (cairn backup create --storage)
	PassphraseSecret string `json:"passphraseSecret"`
}

// Instance states.
const (
	InstanceProtected = "protected"
	InstanceStopped   = "stopped" // no scheduled backups; recovery points kept and retention paused
	// InstanceStoppedDeleting: stopped, and its recovery points are being deleted.
	InstanceStoppedDeleting = "stopped-deleting-data"
)

// InstanceStates lists the instance states.
var InstanceStates = []string{InstanceProtected, InstanceStopped, InstanceStoppedDeleting}

// InstanceSpec is the request of POST /api/v1/instances.
type InstanceSpec struct {
	Name    string          `json:"name"`
	Cluster string          `json:"cluster"`
	Policy  string          `json:"policy"`
	Backup  BackupConfig    `json:"backup"`
	Storage StorageLocation `json:"storage"`
	// RPO overrides the policy's recovery point objective ("26h"); empty: the policy's.
	RPO string `json:"rpo,omitempty"`
	// LockFor makes the instance's recovery points immutable in storage for this long after their
	// backup, when longer than its policy's lockFor ("" or shorter: the policy's).
	LockFor string `json:"lockFor,omitempty"`
}

// Instance is a backup instance: a cluster, what to back up, a policy and a storage location.
type Instance struct {
	InstanceSpec
	State     string    `json:"state"`
	CreatedAt time.Time `json:"createdAt"`
	// LastScheduled is the schedule time of the last backup the scheduler queued.
	LastScheduled *time.Time `json:"lastScheduled,omitempty"`
	NextBackup    *time.Time `json:"nextBackup,omitempty"`
	// RPOStatus is where the instance stands against its recovery point objective.
	RPOStatus *RPOStatus `json:"rpoStatus,omitempty"`
	// Validation is its newest validation (absent: none yet).
	Validation *Validation `json:"validation,omitempty"`
	// LastTestRestore is its newest test restore (absent: none yet).
	LastTestRestore *TestRestoreStatus `json:"lastTestRestore,omitempty"`
}

// TestRestoreStatus is how an instance's newest test restore went (docs/design/monitoring.md,
// "Automatic test restores"): its job's state (succeeded: every check passed), the recovery point
// and cluster, when it ended, how long it ran, and its checks.
type TestRestoreStatus struct {
	State         string     `json:"state"`
	JobID         int64      `json:"jobId"`
	RecoveryPoint string     `json:"recoveryPoint"`
	Cluster       string     `json:"cluster"`
	At            *time.Time `json:"at,omitempty"`
	TookSeconds   float64    `json:"tookSeconds,omitempty"`
	Error         string     `json:"error,omitempty"`
	Checks        []Check    `json:"checks,omitempty"`
}

// TestRestoreRequest is the optional body of POST /api/v1/instances/{name}/test-restore.
type TestRestoreRequest struct {
	// RecoveryPoint is the point to test (default: the instance's newest good one).
	RecoveryPoint string `json:"recoveryPoint,omitempty"`
	// Cluster is where to restore (default: the policy's test restore cluster, else the
	// instance's own).
	Cluster string `json:"cluster,omitempty"`
}

// Validation is how an instance's newest validation went (docs/design/monitoring.md, "Validation
// before the first backup"): its job's state (queued, running, succeeded: every check passed,
// failed), when it ended, and its checks.
type Validation struct {
	State  string     `json:"state"`
	JobID  int64      `json:"jobId"`
	At     *time.Time `json:"at,omitempty"`
	Error  string     `json:"error,omitempty"`
	Checks []Check    `json:"checks,omitempty"`
}

// RPOStatus is where an instance stands against its recovery point objective
// (docs/design/monitoring.md).
type RPOStatus struct {
	Objective string `json:"objective"` // a duration: "25h"
	State     string `json:"state"`     // met, breached, pending or paused
	// LastGoodAt is when the newest recovery point whose backup completed was taken.
	LastGoodAt *time.Time `json:"lastGoodAt,omitempty"`
	// BreachedSince is when the objective is (or will be) breached; absent when paused.
	BreachedSince *time.Time `json:"breachedSince,omitempty"`
}

// BackupNowRequest is the optional body of POST /api/v1/instances/{name}/backup.
type BackupNowRequest struct {
	// Retain is how long the on-demand recovery point is kept ("30d"); empty keeps it until deleted.
	Retain string `json:"retain,omitempty"`
	// VolumeData is what this backup keeps of each volume (snapshot, copy or snapshot+copy);
	// empty: the instance's backup.volumeData.
	VolumeData string `json:"volumeData,omitempty"`
}

// StopRequest is the optional body of POST /api/v1/instances/{name}/stop.
type StopRequest struct {
	DeleteData bool `json:"deleteData"`
}

// RecoveryPoint is one backup of an instance.
type RecoveryPoint struct {
	Name          string     `json:"name"`
	Instance      string     `json:"instance"`
	Cluster       string     `json:"cluster"`
	Time          time.Time  `json:"time"`  // when the backup completed
	Phase         string     `json:"phase"` // the backup's: archive.Phase*
	Items         int64      `json:"items"`
	RawBytes      int64      `json:"rawBytes"`
	StoredBytes   int64      `json:"storedBytes"`
	Namespaces    []string   `json:"namespaces,omitempty"`
	Volumes       int        `json:"volumes"` // snapshotted
	VolumesFailed int        `json:"volumesFailed,omitempty"`
	SnapshotBytes int64      `json:"snapshotBytes"`
	OnDemand      bool       `json:"onDemand,omitempty"`
	ExpiresAt     *time.Time `json:"expiresAt,omitempty"` // nil: kept until retention says otherwise
	Job           int64      `json:"job"`
	// VolumesCopied counts the volumes whose data was copied into the backup storage; CopyBytes is
	// their size and CopyAddedBytes what the copies added to it (deduplicated).
	VolumesCopied  int   `json:"volumesCopied,omitempty"`
	CopyBytes      int64 `json:"copyBytes,omitempty"`
	CopyAddedBytes int64 `json:"copyAddedBytes,omitempty"`
	// VolumeTiers says per claim which tiers hold its data.
	VolumeTiers []VolumeTiers `json:"volumeTiers,omitempty"`
	// Verification is the point's newest verification; nil when it was never verified.
	Verification *Verification `json:"verification,omitempty"`
	// LockedUntil is when its files stop being immutable in storage (nil: not locked).
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
	// Deleted is set when a person deleted it: the vault keeps it until Deleted.PurgeAfter, and it
	// can be brought back until then (POST /recovery-points/{name}/undelete).
	Deleted *SoftDeletion `json:"deleted,omitempty"`
}

// SoftDeletion is who deleted a recovery point, when, and when the vault purges it.
type SoftDeletion struct {
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	PurgeAfter time.Time `json:"purgeAfter"`
}

// Verification levels (VerifyRequest.Level, Verification.Level): structure checks that every
// file of a recovery point is there, authentic, with its size, and its index and volume copies'
// trees; data reads every byte (docs/design/monitoring.md, "Verification").
const (
	VerifyData      = "data"
	VerifyStructure = "structure"
)

// VerifyLevels lists the verification levels, the default first.
var VerifyLevels = []string{VerifyData, VerifyStructure}

// Verification states: the state of its job, passed when it succeeded and failed when it failed.
const (
	VerificationQueued    = "queued"
	VerificationRunning   = "running"
	VerificationPassed    = "passed"
	VerificationFailed    = "failed"
	VerificationCancelled = "cancelled"
)

// Verification is the outcome of a recovery point's newest verify job.
type Verification struct {
	Level   string    `json:"level"` // structure or data
	State   string    `json:"state"` // queued, running, passed, failed or cancelled
	At      time.Time `json:"at"`    // when the job ended, else started, else was queued
	Job     int64     `json:"job"`
	Trigger string    `json:"trigger"` // scheduled or on-demand
	// Problems counts the problems the verification found; FirstProblem is the first of them,
	// or, when it found none but failed, why it could not verify.
	Problems     int    `json:"problems,omitempty"`
	FirstProblem string `json:"firstProblem,omitempty"`
}

// VerifyRequest is the optional body of POST /api/v1/recovery-points/{name}/verify.
type VerifyRequest struct {
	// Level is structure or data; empty: data.
	Level string `json:"level,omitempty"`
}

// VolumeTiers says which tiers hold a claim's data in a recovery point.
type VolumeTiers struct {
	Namespace string `json:"namespace"`
	Claim     string `json:"claim"`
	Snapshot  bool   `json:"snapshot"`
	Copy      bool   `json:"copy"`
	// Bytes is the volume's size: its snapshot's restore size, else its copy's.
	Bytes int64 `json:"bytes,omitempty"`
}

// Job states.
const (
	JobQueued          = "queued"
	JobRunning         = "running"
	JobSucceeded       = "succeeded"
	JobPartiallyFailed = "partially-failed"
	JobFailed          = "failed"
	JobCancelled       = "cancelled"
)

// JobStates lists the job states in the order a job goes through them.
var JobStates = []string{JobQueued, JobRunning, JobSucceeded, JobPartiallyFailed, JobFailed, JobCancelled}

// Job is one piece of work an agent does for the vault.
type Job struct {
	ID         int64       `json:"id"`
	Kind       string      `json:"kind"` // one of the agent protocol's kinds (agentv1.Kinds)
	Instance   string      `json:"instance,omitempty"`
	Cluster    string      `json:"cluster"` // the cluster whose agent runs it
	State      string      `json:"state"`
	Trigger    string      `json:"trigger"`             // scheduled, on-demand, retention, user, retry
	CreatedBy  string      `json:"createdBy,omitempty"` // the principal, or "scheduler"
	Attempt    int         `json:"attempt"`
	CreatedAt  time.Time   `json:"createdAt"`
	StartedAt  *time.Time  `json:"startedAt,omitempty"`
	FinishedAt *time.Time  `json:"finishedAt,omitempty"`
	Progress   JobProgress `json:"progress"`
	Error      string      `json:"error,omitempty"`
	// CancelRequested is set on a running job a user cancelled; the agent stops at its next report.
	CancelRequested bool       `json:"cancelRequested,omitempty"`
	Spec            JobSpec    `json:"spec"`
	Result          *JobResult `json:"result,omitempty"`
}

// JobProgress is how far a running job got.
type JobProgress struct {
	Items   int64  `json:"items"`
	Bytes   int64  `json:"bytes"`
	Message string `json:"message,omitempty"`
}

// JobSpec is what the vault asked the agent to do: exactly one field is set, matching Kind.
type JobSpec struct {
	Backup  *BackupJob  `json:"backup,omitempty"`
	Restore *RestoreJob `json:"restore,omitempty"`
	Delete  *DeleteJob  `json:"delete,omitempty"`
	Verify  *VerifyJob  `json:"verify,omitempty"`
	Browse  *BrowseJob  `json:"browse,omitempty"`
	Fetch   *FetchJob   `json:"fetch,omitempty"`
	// Validate checks what a backup of an instance will need.
	Validate *ValidateJob `json:"validate,omitempty"`
	// TestRestore restores into scratch namespaces, checks and deletes them.
	TestRestore *TestRestoreJob `json:"testRestore,omitempty"`
	// Inventory reads a page of an instance's repository into the catalogue.
	Inventory *InventoryJob `json:"inventory,omitempty"`
}

// InventoryJob reads the backups of an instance's repository named after After, a page at a time
// (docs/design/vault.md, "The catalogue rebuilt from storage").
type InventoryJob struct {
	Instance string          `json:"instance"`
	Storage  StorageLocation `json:"storage"`
	After    string          `json:"after,omitempty"`
}

// TestRestoreJob restores a recovery point into scratch namespaces (its restore's namespace
// mapping), checks the result and deletes them.
type TestRestoreJob struct {
	Restore             RestoreJob  `json:"restore"`
	ReadyTimeoutSeconds int         `json:"readyTimeoutSeconds"`
	Checks              []TestCheck `json:"checks,omitempty"`
}

// TestCheck is a command run in the restored pods of a source namespace that a selector matches.
type TestCheck struct {
	Namespace      string   `json:"namespace"`
	Selector       string   `json:"selector,omitempty"`
	Container      string   `json:"container,omitempty"`
	Command        []string `json:"command"`
	TimeoutSeconds int      `json:"timeoutSeconds,omitempty"`
}

// ValidateJob checks what a backup of the instance with this configuration and storage will need.
type ValidateJob struct {
	Instance string          `json:"instance"`
	Config   BackupConfig    `json:"config"`
	Storage  StorageLocation `json:"storage"`
}

// BackupJob makes recovery point RecoveryPoint of an instance.
type BackupJob struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Config        BackupConfig    `json:"config"`
	Storage       StorageLocation `json:"storage"`
	OnDemand      bool            `json:"onDemand,omitempty"`
	ExpiresAt     *time.Time      `json:"expiresAt,omitempty"`
	// DeleteIncomplete names recovery points of earlier attempts the agent deletes first (an agent
	// killed mid-backup leaves one without a manifest).
	DeleteIncomplete []string `json:"deleteIncomplete,omitempty"`
}

// RestoreOptions are the engine's restore options (cairn restore create --help).
type RestoreOptions struct {
	IncludeNamespaces   []string          `json:"includeNamespaces,omitempty"`
	ExcludeNamespaces   []string          `json:"excludeNamespaces,omitempty"`
	IncludeResources    []string          `json:"includeResources,omitempty"`
	ExcludeResources    []string          `json:"excludeResources,omitempty"`
	LabelSelectors      []string          `json:"labelSelectors,omitempty"`
	ClusterResources    string            `json:"clusterResources,omitempty"`
	Names               []string          `json:"names,omitempty"`
	NamespaceMapping    map[string]string `json:"namespaceMapping,omitempty"`
	StorageClassMapping map[string]string `json:"storageClassMapping,omitempty"`
	ConflictPolicy      string            `json:"conflictPolicy,omitempty"` // skip (default), patch, recreate
	Volumes             string            `json:"volumes,omitempty"`        // data (default), empty, skip
	VolumeSource        string            `json:"volumeSource,omitempty"`   // auto (default), snapshot, copy
	RestoreHooks        []string          `json:"restoreHooks,omitempty"`   // RestoreHook references, NAMESPACE/NAME
	Modifiers           string            `json:"modifiers,omitempty"`      // resource modifier rules, YAML (Velero's format)
	DryRun              bool              `json:"dryRun,omitempty"`
}

// Values of RestoreOptions.ConflictPolicy, .Volumes and .VolumeSource, the first of each the default; they mean
// what the restore engine's options of the same names mean.
var (
	ConflictPolicies = []string{"skip", "patch", "recreate"}
	VolumeModes      = []string{"data", "empty", "skip"}
	VolumeSources    = []string{"auto", "snapshot", "copy"}
)

// Values of BackupConfig.VolumeData, the first the default.
var VolumeDataModes = []string{"snapshot", "copy", "snapshot+copy"}

// RestoreRequest is the request of POST /api/v1/restores.
type RestoreRequest struct {
	RecoveryPoint string         `json:"recoveryPoint"`
	TargetCluster string         `json:"targetCluster,omitempty"` // default: the instance's cluster
	Options       RestoreOptions `json:"options"`
}

// RestoreJob restores a recovery point into the agent's cluster.
type RestoreJob struct {
	Name          string          `json:"name"` // the restore's name in the repository
	RecoveryPoint string          `json:"recoveryPoint"`
	SourceCluster string          `json:"sourceCluster"`
	Storage       StorageLocation `json:"storage"`
	Options       RestoreOptions  `json:"options"`
}

// DeleteJob deletes a recovery point: its volume snapshots, then its files.
type DeleteJob struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Storage       StorageLocation `json:"storage"`
	Reason        string          `json:"reason"`
	// SnapshotsOnly: the job deletes only the volume snapshots (kind retention-expire-snapshots).
	SnapshotsOnly bool `json:"snapshotsOnly,omitempty"`
	// GC: the job collects the file store's garbage afterwards.
	GC bool `json:"gc,omitempty"`
}

// VerifyJob reads a recovery point back and checks it, at Level (structure or data; empty: data).
type VerifyJob struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Storage       StorageLocation `json:"storage"`
	Level         string          `json:"level,omitempty"`
}

// JobResult is what a finished job reports; the field matching its kind is set.
type JobResult struct {
	RecoveryPoint *RecoveryPoint  `json:"recoveryPoint,omitempty"`
	Restore       *RestoreSummary `json:"restore,omitempty"`
	// Checks are the agent's pre-flight checks of a restore (agent, permissions, storage, conflicts).
	Checks   []Check  `json:"checks,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	// Browse is a browse job's listing; Fetch what a fetch job read.
	Browse *BrowseResult `json:"browse,omitempty"`
	Fetch  *FetchResult  `json:"fetch,omitempty"`
	// Verify is what a verify job checked (agents of earlier releases report none).
	Verify *VerifyResult `json:"verify,omitempty"`
}

// VerifyResult is what a verification checked and how many problems it found (Errors lists
// them, the first 50 when there are many).
type VerifyResult struct {
	Level    string `json:"level"`
	Files    int    `json:"files"` // the recovery point's files: its packs and index
	Sections int    `json:"sections"`
	Items    int    `json:"items"`  // read back; 0 at structure
	Copies   int    `json:"copies"` // volume copies checked
	// Blobs counts the copies' distinct data blobs; BytesRead what was read of them (data).
	Blobs     int   `json:"blobs"`
	BytesRead int64 `json:"bytesRead"`
	Problems  int   `json:"problems"`
}

// Check is one pre-flight check.
type Check struct {
	Name    string `json:"name"` // agent, permissions, storage, recovery-point, conflicts
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// RestoreSummary is a restore's outcome; Items lists at most MaxRestoreItems items, those not
// created first (conflicts, failures, patches with their diffs).
type RestoreSummary struct {
	Name      string        `json:"name"`
	Phase     string        `json:"phase"`
	DryRun    bool          `json:"dryRun"`
	Created   int           `json:"created"`
	Patched   int           `json:"patched"`
	Recreated int           `json:"recreated"`
	Unchanged int           `json:"unchanged"`
	Skipped   int           `json:"skipped"`
	Failed    int           `json:"failed"`
	Volumes   int           `json:"volumes"`
	Items     []RestoreItem `json:"items,omitempty"`
}

// MaxRestoreItems caps RestoreSummary.Items.
const MaxRestoreItems = 500

// RestoreItem is one item's outcome (or, in a dry run, intended action).
type RestoreItem struct {
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    string `json:"action"` // create, patch, recreate, unchanged, skip, fail
	Reason    string `json:"reason,omitempty"`
	Diff      string `json:"diff,omitempty"`
}

// JobCounts is the response of GET /api/v1/job-counts: the jobs created since Since, by state.
type JobCounts struct {
	Since  time.Time      `json:"since"`
	States map[string]int `json:"states"`
}

// LogLine is one line of a job's log.
type LogLine struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Level   string    `json:"level"` // info, warn, error
	Message string    `json:"message"`
}

// Prices turn usage into a monthly cost estimate.
type Prices struct {
	Currency         string  `json:"currency"`
	NamespaceMonth   float64 `json:"namespaceMonth"`   // per protected namespace per month
	StorageGiBMonth  float64 `json:"storageGiBMonth"`  // per GiB of blob storage per month
	SnapshotGiBMonth float64 `json:"snapshotGiBMonth"` // per GiB of volume snapshots per month
	CopyGiBMonth     float64 `json:"copyGiBMonth"`     // per GiB of volume copies in the backup storage per month
}

// InstanceUsage is one instance's consumption.
type InstanceUsage struct {
	Instance            string `json:"instance"`
	Cluster             string `json:"cluster"`
	ProtectedNamespaces int    `json:"protectedNamespaces"`
	RecoveryPoints      int    `json:"recoveryPoints"`
	StoredBytes         int64  `json:"storedBytes"`
	// SnapshotBytes is, per claim, the restore size of its newest live snapshot, summed.
	SnapshotBytes int64 `json:"snapshotBytes"`
	// CopyBytes is what the live recovery points' copies added to the backup storage
	// (deduplicated; an upper bound until the file store's garbage collection).
	CopyBytes   int64   `json:"copyBytes"`
	MonthlyCost float64 `json:"monthlyCost"`
}

// Usage is the response of GET /api/v1/usage.
type Usage struct {
	Prices    Prices          `json:"prices"`
	Instances []InstanceUsage `json:"instances"`
	Total     InstanceUsage   `json:"total"` // Instance and Cluster empty
}

// AuditEntry records one call that changed something, or was refused.
type AuditEntry struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Role      string    `json:"role"`
	Operation string    `json:"operation"` // METHOD pattern, e.g. "POST /api/v1/instances/{name}/backup"
	Object    string    `json:"object,omitempty"`
	Status    int       `json:"status"`
	// Source is the address the call came from.
	Source string `json:"source,omitempty"`
}
