package agentv1

import "time"

// Heartbeat is the body of POST /api/v1/agent/heartbeat.
type Heartbeat struct {
	AgentVersion      string `json:"agentVersion"`
	KubernetesVersion string `json:"kubernetesVersion"`
	// Namespaces are the names of the cluster's namespaces, sorted. Nil means unknown (the agent
	// could not list them, or predates the field): the vault keeps the list it had.
	Namespaces []string `json:"namespaces,omitempty"`
}

// ProgressReport is the body of POST /api/v1/agent/jobs/{id}/progress: it renews the lease.
type ProgressReport struct {
	Progress JobProgress `json:"progress"`
	Logs     []LogLine   `json:"logs,omitempty"` // Seq is assigned by the vault
}

// ProgressReply tells the agent whether to go on.
type ProgressReply struct {
	Cancel bool `json:"cancel"`
}

// Completion is the body of POST /api/v1/agent/jobs/{id}/complete.
type Completion struct {
	State  string     `json:"state"` // succeeded, partially-failed, failed, cancelled
	Error  string     `json:"error,omitempty"`
	Result *JobResult `json:"result,omitempty"`
	Logs   []LogLine  `json:"logs,omitempty"`
}

// JobResult is what a finished job reports; the field matching its kind is set.
type JobResult struct {
	RecoveryPoint *RecoveryPoint  `json:"recoveryPoint,omitempty"`
	Restore       *RestoreSummary `json:"restore,omitempty"`
	// Checks are the agent's pre-flight checks of a restore (agent, permissions, storage, conflicts),
	// or the checks of a validation.
	Checks   []Check  `json:"checks,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	// Browse and Fetch: added within protocol version 1 (files.go).
	Browse *BrowseResult `json:"browse,omitempty"`
	Fetch  *FetchResult  `json:"fetch,omitempty"`
	// Verify is what a verify job checked: added within protocol version 1 (an older agent
	// reports none).
	Verify *VerifyResult `json:"verify,omitempty"`
	// Inventory is what an inventory job found: added within protocol version 1 (inventory.go).
	Inventory *InventoryResult `json:"inventory,omitempty"`
}

// VerifyResult is what a verification checked and how many problems it found (Errors lists
// them, cut to the first 50 when the completion would be too large).
type VerifyResult struct {
	Level    string `json:"level"` // the level the agent verified at (VerifyLevels)
	Files    int    `json:"files"` // the recovery point's files: its packs and index
	Sections int    `json:"sections"`
	Items    int    `json:"items"`  // read back; 0 at VerifyStructure
	Copies   int    `json:"copies"` // volume copies checked
	// Blobs counts the copies' distinct data blobs; BytesRead what was read of them (VerifyData).
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

// RecoveryPoint is what a backup job reports of the recovery point it made.
type RecoveryPoint struct {
	Name          string    `json:"name"`
	Instance      string    `json:"instance"`
	Cluster       string    `json:"cluster"`
	Time          time.Time `json:"time"`  // when the backup completed
	Phase         string    `json:"phase"` // the backup's: archive.Phase*
	Items         int64     `json:"items"`
	RawBytes      int64     `json:"rawBytes"`
	StoredBytes   int64     `json:"storedBytes"`
	Namespaces    []string  `json:"namespaces,omitempty"`
	Volumes       int       `json:"volumes"` // snapshotted
	VolumesFailed int       `json:"volumesFailed,omitempty"`
	SnapshotBytes int64     `json:"snapshotBytes"`
	// VolumesCopied counts the volumes whose data was copied into the repository; CopyBytes is
	// their size and CopyAddedBytes what the copies added to the file store (deduplicated).
	VolumesCopied  int   `json:"volumesCopied,omitempty"`
	CopyBytes      int64 `json:"copyBytes,omitempty"`
	CopyAddedBytes int64 `json:"copyAddedBytes,omitempty"`
	// VolumeTiers says per claim which tiers hold its data.
	VolumeTiers []VolumeTiers `json:"volumeTiers,omitempty"`
	OnDemand    bool          `json:"onDemand,omitempty"`
	ExpiresAt   *time.Time    `json:"expiresAt,omitempty"` // nil: kept until retention says otherwise
	Job         int64         `json:"job"`
	// LockedUntil is when the point's files stop being immutable in storage (nil: not locked;
	// added within version 1).
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
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

// LogLine is one line of a job's log.
type LogLine struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Level   string    `json:"level"` // info, warn, error
	Message string    `json:"message"`
}
