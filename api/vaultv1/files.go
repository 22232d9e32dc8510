package vaultv1

import "time"

// BrowseRequest is the body of POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/browse.
type BrowseRequest struct {
	// Path is the directory to list, slash-separated inside the volume; "" or "/" is its root.
	Path string `json:"path"`
}

// FetchRequest is the body of POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/fetch.
type FetchRequest struct {
	// Path is the regular file to fetch, slash-separated inside the volume.
	Path string `json:"path"`
}

// BrowseJob lists a directory of the copy of a claim's volume in a recovery point.
type BrowseJob struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Storage       StorageLocation `json:"storage"`
	Namespace     string          `json:"namespace"`
	Claim         string          `json:"claim"`
	Path          string          `json:"path"`
}

// FetchJob reads one file of the copy of a claim's volume in a recovery point for the vault.
type FetchJob struct {
	RecoveryPoint string          `json:"recoveryPoint"`
	Storage       StorageLocation `json:"storage"`
	Namespace     string          `json:"namespace"`
	Claim         string          `json:"claim"`
	Path          string          `json:"path"`
}

// BrowseResult is a directory's listing; Entries holds at most 1,000 entries, Total counts them
// all and Truncated says the list was cut.
type BrowseResult struct {
	Path      string      `json:"path"`
	Entries   []FileEntry `json:"entries"`
	Total     int         `json:"total"`
	Truncated bool        `json:"truncated,omitempty"`
}

// FileEntry is one entry of a listed directory.
type FileEntry struct {
	Name   string    `json:"name"`
	Type   string    `json:"type"` // file, dir, symlink, fifo, chardev, blockdev, socket
	Size   int64     `json:"size"`
	Mode   int       `json:"mode"` // permission bits
	MTime  time.Time `json:"mtime"`
	Target string    `json:"target,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// FetchResult is the file a fetch job read: GET /api/v1/jobs/{id}/content serves it once.
type FetchResult struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}
