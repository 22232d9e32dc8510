package agentv1

import "time"

// Job states, as the vault records them. An agent completes a job in one of the final states:
// JobSucceeded, JobPartiallyFailed, JobFailed or JobCancelled.
const (
	JobQueued          = "queued"
	JobRunning         = "running"
	JobSucceeded       = "succeeded"
	JobPartiallyFailed = "partially-failed"
	JobFailed          = "failed"
	JobCancelled       = "cancelled"
)

// FinalStates are the states a completion may report.
var FinalStates = []string{JobSucceeded, JobPartiallyFailed, JobFailed, JobCancelled}

// Job is one piece of work a claim hands the agent: the job as the vault holds it when the agent
// claims it, with the spec of its kind.
type Job struct {
	ID         int64       `json:"id"`
	Kind       string      `json:"kind"` // one of Kinds
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

// JobSpec is what the agent needs to run a job: exactly one field is set, matching Kind.
type JobSpec struct {
	Backup  *BackupJob  `json:"backup,omitempty"`
	Restore *RestoreJob `json:"restore,omitempty"`
	Delete  *DeleteJob  `json:"delete,omitempty"`
	Verify  *VerifyJob  `json:"verify,omitempty"`
	// Browse and Fetch: added within protocol version 1 (files.go).
	Browse *BrowseJob `json:"browse,omitempty"`
	Fetch  *FetchJob  `json:"fetch,omitempty"`
	// Validate and TestRestore: added within protocol version 1.
	Validate    *ValidateJob    `json:"validate,omitempty"`
	TestRestore *TestRestoreJob `json:"testRestore,omitempty"`
	// Inventory: added within protocol version 1 (inventory.go).
	Inventory *InventoryJob `json:"inventory,omitempty"`
}

// TestRestoreJob restores a recovery point into scratch namespaces (Restore's namespace mapping
// names them), checks it and deletes them (docs/design/monitoring.md, "Automatic test restores").
type TestRestoreJob struct {
	Restore RestoreJob `json:"restore"`
	// ReadyTimeoutSeconds is how long the restored pods get to become Ready.
	ReadyTimeoutSeconds int         `json:"readyTimeoutSeconds"`
	Checks              []TestCheck `json:"checks,omitempty"`
}

// TestCheck is a command run in the restored pods of a (source) namespace that a selector
// matches, directly, never through a shell; exit 0 passes.
type TestCheck struct {
	Namespace      string   `json:"namespace"`
	Selector       string   `json:"selector,omitempty"`
	Container      string   `json:"container,omitempty"`
	Command        []string `json:"command"`
	TimeoutSeconds int      `json:"timeoutSeconds,omitempty"`
}

// ValidateJob checks what a backup of the instance with this configuration and storage will
// need (docs/design/monitoring.md, "Validation before the first backup").
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
	// LockForSeconds, when set, makes the recovery point's files immutable in storage for that
	// long after the backup starts (added within version 1: an agent that predates it ignores
	// it and reports no lockedUntil, and the vault then fails the job partially).
	LockForSeconds int64 `json:"lockForSeconds,omitempty"`
	// DeleteIncomplete names recovery points of earlier attempts the agent deletes first (an agent
	// killed mid-backup leaves one without a manifest).
	DeleteIncomplete []string `json:"deleteIncomplete,omitempty"`
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
	// VolumeData is what the backup keeps of each volume: snapshot (default), copy or
	// snapshot+copy (cairn backup create --volume-data). The vault sets it per job from the
	// instance's configuration and its policy's copy tier.
	VolumeData string `json:"volumeData,omitempty"`
}

// StorageLocation is where an instance's recovery points live. The vault holds no credential:
// the agent reads the storage credential from its own environment and the repository passphrase
// from its secret named PassphraseSecret (docs/design/vault.md, "Agent secrets").
type StorageLocation struct {
	URL              string `json:"url"` // file://, s3://, azblob:// (cairn backup create --storage)
	PassphraseSecret string `json:"passphraseSecret"`
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

// RestoreJob restores a recovery point into the agent's cluster.
type RestoreJob struct {
	Name          string          `json:"name"` // the restore's name in the repository
	RecoveryPoint string          `json:"recoveryPoint"`
	SourceCluster string          `json:"sourceCluster"`
	Storage       StorageLocation `json:"storage"`
	Options       RestoreOptions  `json:"options"`
}

// DeleteJob deletes a recovery point: its volume snapshots, the file snapshots of its copies, then
// its files (kind retention-delete); or, with SnapshotsOnly, its volume snapshots alone (kind
// retention-expire-snapshots).
type DeleteJob struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Storage       StorageLocation `json:"storage"`
	Reason        string          `json:"reason"`
	// SnapshotsOnly deletes only the volume snapshots and records that in the repository
	// (backups/<name>/snapshots-deleted); set on jobs of kind retention-expire-snapshots, whose
	// agent refuses a spec without it. Added within protocol version 1.
	SnapshotsOnly bool `json:"snapshotsOnly,omitempty"`
	// GC asks the agent to collect the file store's garbage after the deletion, even if it did
	// so today. Added within protocol version 1; an older agent ignores it.
	GC bool `json:"gc,omitempty"`
}

// VerifyJob reads a recovery point back and checks it (docs/design/monitoring.md, "Verification").
type VerifyJob struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Storage       StorageLocation `json:"storage"`
	// Level is how much is read: VerifyStructure or VerifyData; empty is VerifyData. Added within
	// protocol version 1: an older agent ignores it and reads the point's own files whole, at
	// least what VerifyStructure asks.
	Level string `json:"level,omitempty"`
}

// Verification levels (VerifyJob.Level).
const (
	// VerifyStructure checks the manifest's authentication, every file's presence and size, the
	// index and how its sections tile the packs, and the volume copies' trees; it reads no pack
	// and no copied data.
	VerifyStructure = "structure"
	// VerifyData reads everything: every file against its checksum, every section and item, and
	// every data blob of the volume copies.
	VerifyData = "data"
)

// VerifyLevels lists the verification levels, the default (VerifyData) first.
var VerifyLevels = []string{VerifyData, VerifyStructure}
