package agentv1

import "time"

// The jobs that read a volume's copy for the vault (docs/design/vault.md, "Browsing a volume's
// copy"), added within protocol version 1.

// Limits of the browse and fetch jobs.
const (
	// MaxBrowseEntries caps the entries a browse result lists.
	MaxBrowseEntries = 1000
	// MaxFetchBytes caps the size of a file a fetch job uploads; a larger file is restored with
	// cairn files restore.
	MaxFetchBytes = 64 << 20
)

// VolumePath names a path in the copy of a claim's volume in a recovery point.
type VolumePath struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Storage       StorageLocation `json:"storage"`
	Namespace     string          `json:"namespace"`
	Claim         string          `json:"claim"`
	// Path is slash-separated inside the volume; "" or "/" is its root.
	Path string `json:"path"`
}

// BrowseJob lists the directory at Path (kind browse).
type BrowseJob struct {
	VolumePath
}

// FetchJob reads the regular file at Path and uploads it to the vault (kind fetch), at
// PUT /api/v1/agent/jobs/{id}/content, before completing the job.
type FetchJob struct {
	VolumePath
}

// BrowseResult is a browse job's listing.
type BrowseResult struct {
	Path    string      `json:"path"` // cleaned, without a leading slash; "" is the root
	Entries []FileEntry `json:"entries"`
	// Total counts the directory's entries; Truncated says Entries holds only the first
	// MaxBrowseEntries of them.
	Total     int  `json:"total"`
	Truncated bool `json:"truncated,omitempty"`
}

// FileEntry is one entry of a listed directory.
type FileEntry struct {
	Name  string    `json:"name"`
	Type  string    `json:"type"` // file, dir, symlink, fifo, chardev, blockdev, socket
	Size  int64     `json:"size"`
	Mode  int       `json:"mode"` // permission bits, e.g. 0o644
	MTime time.Time `json:"mtime"`
	// Target is a symlink's target.
	Target string `json:"target,omitempty"`
	// Error says why the backup could not read the entry whole.
	Error string `json:"error,omitempty"`
}

// FetchResult is what a fetch job uploaded.
type FetchResult struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}
