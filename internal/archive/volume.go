package archive

import (
	"fmt"
	"time"
)

// Volume outcomes in a recovery point.
const (
	VolumeSnapshotted = "Snapshotted"
	// VolumeCopied is a volume protected by its copy in the file store alone (volume data mode
	// "copy": the snapshot read for the copy was deleted).
	VolumeCopied  = "Copied"
	VolumeSkipped = "Skipped"
	VolumeFailed  = "Failed"
)

// VolumeRecord is what a backup did with one PersistentVolumeClaim (format 4.3.1).
type VolumeRecord struct {
	Namespace     string `json:"namespace"`
	Claim         string `json:"claim"`
	Volume        string `json:"volume,omitempty"`
	Driver        string `json:"driver,omitempty"`
	StorageClass  string `json:"storageClass,omitempty"`
	CapacityBytes int64  `json:"capacityBytes,omitempty"`
	// VolumeMode is the claim's: Filesystem (also when empty: older records) or Block.
	VolumeMode string          `json:"volumeMode,omitempty"`
	Outcome    string          `json:"outcome"`
	Reason     string          `json:"reason,omitempty"`
	Snapshot   *VolumeSnapshot `json:"snapshot,omitempty"`
	// Copy locates the volume's files in the file store, when the backup copied them.
	Copy *VolumeCopy `json:"copy,omitempty"`
	// CopyError says why the copy was not made, when one was asked for.
	CopyError string `json:"copyError,omitempty"`
}

// VolumeCopy is a volume's data copied into the repository's file store (docs/design/volumes.md,
// "the copy tier").
type VolumeCopy struct {
	// FileSnapshot is the ID of the file store snapshot holding the volume's files.
	FileSnapshot string `json:"fileSnapshot"`
	// Source is CLUSTER-ID/NAMESPACE/CLAIM: the file snapshots of one claim form its history.
	Source     string  `json:"source"`
	VolumeMode string  `json:"volumeMode"`
	Files      int64   `json:"files"`
	Bytes      int64   `json:"bytes"`
	AddedBytes int64   `json:"addedBytes"`
	Seconds    float64 `json:"seconds"`
	// Method is how the files were read: CopyMethodSnapshot (also when empty: older records) or
	// CopyMethodFileSystem.
	Method string `json:"method,omitempty"`
}

// How a volume's copy was read (VolumeCopy.Method).
const (
	// CopyMethodSnapshot: from the volume's CSI snapshot, exposed as a claim.
	CopyMethodSnapshot = "snapshot"
	// CopyMethodFileSystem: from the volume itself, on the node that runs it (the file-system
	// backup of volumes without snapshots).
	CopyMethodFileSystem = "file-system"
)

// Protected reports whether the record holds the volume's data: a snapshot or a copy.
func (v VolumeRecord) Protected() bool {
	return v.Outcome == VolumeSnapshotted || v.Outcome == VolumeCopied
}

// VolumeSnapshot locates the CSI snapshot that protects a volume.
type VolumeSnapshot struct {
	Class            string    `json:"class"`
	Content          string    `json:"content"`
	Handle           string    `json:"handle"`
	RestoreSizeBytes int64     `json:"restoreSizeBytes,omitempty"`
	CreatedAt        time.Time `json:"createdAt,omitzero"`
	ReadySeconds     float64   `json:"readySeconds"`
}

// VolumeSummary sums up a recovery point's volumes.
type VolumeSummary struct {
	// Protected counts the volumes a snapshot or a copy holds; Skipped and Failed the others.
	Protected, Skipped, Failed int
	// Snapshotted counts the volumes whose snapshot is kept, Copied those with a copy, CopyFailed
	// those whose copy was asked for and failed.
	Snapshotted, Copied, CopyFailed int
	// SnapshotBytes sums the kept snapshots' restore sizes (the claim's capacity when the driver
	// gave none); CopyBytes the copies' sizes, CopyAddedBytes what they added to the file store.
	SnapshotBytes, CopyBytes, CopyAddedBytes int64
}

// VolumeSummary sums up the recovery point's volumes.
func (rp RecoveryPoint) VolumeSummary() VolumeSummary {
	var s VolumeSummary
	for _, v := range rp.Volumes {
		switch v.Outcome {
		case VolumeSnapshotted, VolumeCopied:
			s.Protected++
		case VolumeSkipped:
			s.Skipped++
		case VolumeFailed:
			s.Failed++
		}
		if v.Snapshot != nil && v.Outcome == VolumeSnapshotted {
			s.Snapshotted++
			if v.Snapshot.RestoreSizeBytes > 0 {
				s.SnapshotBytes += v.Snapshot.RestoreSizeBytes
			} else {
				s.SnapshotBytes += v.CapacityBytes
			}
		}
		if v.Copy != nil {
			s.Copied++
			s.CopyBytes += v.Copy.Bytes
			s.CopyAddedBytes += v.Copy.AddedBytes
		}
		if v.CopyError != "" {
			s.CopyFailed++
		}
	}
	return s
}

// Volume data modes: what a backup keeps of each volume (docs/design/volumes.md, "Modes").
const (
	VolumeDataSnapshot        = "snapshot"
	VolumeDataCopy            = "copy"
	VolumeDataSnapshotAndCopy = "snapshot+copy"
)

// ParseVolumeData checks a volume data mode; empty is snapshot.
func ParseVolumeData(s string) (string, error) {
	switch s {
	case "", VolumeDataSnapshot:
		return VolumeDataSnapshot, nil
	case VolumeDataCopy, VolumeDataSnapshotAndCopy:
		return s, nil
	}
	return "", fmt.Errorf("volume data mode %q: use %s, %s or %s", s, VolumeDataSnapshot, VolumeDataCopy, VolumeDataSnapshotAndCopy)
}

// CopiesVolumeData reports whether the mode copies volume data into the repository.
func CopiesVolumeData(mode string) bool {
	return mode == VolumeDataCopy || mode == VolumeDataSnapshotAndCopy
}

// Volume returns the record of claim namespace/claim.
func (rp RecoveryPoint) Volume(namespace, claim string) (VolumeRecord, bool) {
	for _, v := range rp.Volumes {
		if v.Namespace == namespace && v.Claim == claim {
			return v, true
		}
	}
	return VolumeRecord{}, false
}
