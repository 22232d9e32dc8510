package archive

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Phases a backup ends in (docs/design/format.md). They are the phases of every result cairn
// records: restores (restore.Phase*) and recovery points in the vault's API use these.
const (
	PhaseCompleted       = "Completed"
	PhasePartiallyFailed = "PartiallyFailed"
	PhaseFailed          = "Failed"
)

// RecoveryPoint is the payload of a backup's manifest: what was backed up, how it went, and the
// checksum of every other file of the backup.
type RecoveryPoint struct {
	FormatVersion int          `json:"formatVersion"`
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	StartedAt     time.Time    `json:"startedAt"`
	CompletedAt   time.Time    `json:"completedAt"`
	CairnVersion  string       `json:"cairnVersion"`
	Cluster       ClusterInfo  `json:"cluster"`
	Spec          BackupSpec   `json:"spec"`
	Result        BackupResult `json:"result"`
	// ExpiresAt, if set, is when retention may delete the recovery point.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// PointInTime, if set, is the cluster resourceVersion the objects were listed at
	// (docs/design/format.md, 4.3.3).
	PointInTime *PointInTime    `json:"pointInTime,omitempty"`
	Volumes     []VolumeRecord  `json:"volumes,omitempty"`
	Hooks       []HookExecution `json:"hooks,omitempty"`
	Encryption  string          `json:"encryption"`
	Files       []FileEntry     `json:"files"`
}

// PointInTime is the one moment of the cluster a backup's objects are, and the resources captured
// at another.
type PointInTime struct {
	ResourceVersion string              `json:"resourceVersion"`
	Others          []CapturedElsewhere `json:"others,omitempty"`
}

// CapturedElsewhere is a resource listed at the current state rather than at the backup's
// resourceVersion, and why.
type CapturedElsewhere struct {
	Resource string `json:"resource"`
	Reason   string `json:"reason"`
}

// ClusterInfo identifies the cluster a backup came from.
type ClusterInfo struct {
	Server            string `json:"server"`
	KubernetesVersion string `json:"kubernetesVersion"`
	ClusterID         string `json:"clusterID,omitempty"`
}

// BackupSpec records what the backup was asked to capture.
type BackupSpec struct {
	IncludedNamespaces      []string `json:"includedNamespaces,omitempty"`
	ExcludedNamespaces      []string `json:"excludedNamespaces,omitempty"`
	IncludedResources       []string `json:"includedResources,omitempty"`
	ExcludedResources       []string `json:"excludedResources,omitempty"`
	LabelSelectors          []string `json:"labelSelectors,omitempty"`
	IncludeClusterResources string   `json:"includeClusterResources"`
	// SnapshotVolumes is false when the backup was told not to snapshot volumes.
	SnapshotVolumes bool   `json:"snapshotVolumes"`
	SnapshotClass   string `json:"snapshotClass,omitempty"`
	// VolumeData is the volume data mode: snapshot (also when empty), copy or snapshot+copy.
	VolumeData string `json:"volumeData,omitempty"`
}

// BackupResult is how the backup went.
type BackupResult struct {
	Phase           string          `json:"phase"`
	Items           int             `json:"items"`
	RawBytes        int64           `json:"rawBytes"`
	StoredBytes     int64           `json:"storedBytes"`
	DurationSeconds float64         `json:"durationSeconds"`
	Resources       []ResourceCount `json:"resources,omitempty"`
	Namespaces      []string        `json:"namespaces,omitempty"`
	Warnings        []string        `json:"warnings,omitempty"`
	Errors          []string        `json:"errors,omitempty"`
}

// ResourceCount is the number of items of one resource type.
type ResourceCount struct {
	Resource string `json:"resource"`
	Items    int    `json:"items"`
}

// FileEntry is one file of a backup with its stored size and SHA-256.
type FileEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

var validName = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)

// ValidateName checks a backup or restore name.
func ValidateName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid name %q: use 1-63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", name)
	}
	return nil
}

func backupPrefix(name string) string    { return "backups/" + name + "/" }
func manifestKey(name string) string     { return backupPrefix(name) + "manifest" }
func indexKey(name string) string        { return backupPrefix(name) + "index" }
func restoreKey(name string) string      { return "restores/" + name + "/result" }
func manifestContext(name string) string { return "cairn/v1/manifest\x00" + name }
func restoreContext(name string) string  { return "cairn/v1/restore\x00" + name }
func restoreItemsKey(name string, seq int) string {
	return fmt.Sprintf("restores/%s/items/%06d", name, seq)
}
func restoreItemsContext(name string, seq int) string {
	return "cairn/v1/restore-items\x00" + name + "\x00" + strconv.Itoa(seq)
}
func indexContext(id string) string { return "cairn/v1/index\x00" + id }
func sectionContext(id, pack string, offset int64) string {
	return fmt.Sprintf("cairn/v1/section\x00%s%s\x00%d", id, pack, offset)
}
