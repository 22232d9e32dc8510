package agentv1

// InventoryJob asks for a page of the recovery points an instance's repository holds
// (docs/design/vault.md, "The catalogue rebuilt from storage").
type InventoryJob struct {
	Instance string          `json:"instance"`
	Storage  StorageLocation `json:"storage"`
	// After: only the backups named after it, in name order ("" from the first).
	After string `json:"after,omitempty"`
}

// InventoryPage is the most backups one inventory job reports: a completion stays well under the
// vault's body limit however many points a repository holds.
const InventoryPage = 200

// InventoryResult is a page of a repository's backups, in name order.
type InventoryResult struct {
	// Points are the backups whose manifest authenticates, each as a backup job reports the
	// point it made.
	Points []RecoveryPoint `json:"points,omitempty"`
	// Unreadable are the backups the agent could not read, and why.
	Unreadable []UnreadableBackup `json:"unreadable,omitempty"`
	// More says that backups named after this page's last follow.
	More bool `json:"more,omitempty"`
}

// UnreadableBackup is a backup in storage without a manifest that authenticates: interrupted
// before it committed, tampered with, or unreadable.
type UnreadableBackup struct {
	Name    string `json:"name"`
	Problem string `json:"problem"`
}
