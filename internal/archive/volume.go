package archive

import "time"

// Volume outcomes in a recovery point.
const (
	VolumeSnapshotted = "Snapshotted"
	VolumeSkipped     = "Skipped"
	VolumeFailed      = "Failed"
)

// VolumeRecord is what a backup did with one PersistentVolumeClaim (format 4.3.1).
type VolumeRecord struct {
	Namespace     string          `json:"namespace"`
	Claim         string          `json:"claim"`
	Volume        string          `json:"volume,omitempty"`
	Driver        string          `json:"driver,omitempty"`
	StorageClass  string          `json:"storageClass,omitempty"`
	CapacityBytes int64           `json:"capacityBytes,omitempty"`
	Outcome       string          `json:"outcome"`
	Reason        string          `json:"reason,omitempty"`
	Snapshot      *VolumeSnapshot `json:"snapshot,omitempty"`
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

// VolumeCounts sums a recovery point's volumes by outcome.
func (rp RecoveryPoint) VolumeCounts() (snapshotted, skipped, failed int) {
	for _, v := range rp.Volumes {
		switch v.Outcome {
		case VolumeSnapshotted:
			snapshotted++
		case VolumeSkipped:
			skipped++
		case VolumeFailed:
			failed++
		}
	}
	return snapshotted, skipped, failed
}
