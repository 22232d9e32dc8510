package agentv1

// Job kinds. A new kind is its spec field in JobSpec (or an existing spec that says what the new
// kind does), its entry in Kinds, and its runner in the agent.
const (
	KindBackup          = "backup"
	KindRestore         = "restore"
	KindRetentionDelete = "retention-delete"
	KindVerify          = "verify"
	// KindRetentionExpireSnapshots deletes a recovery point's volume snapshots only: its files and
	// its copies stay (a policy's copy tier). Spec: Delete, with SnapshotsOnly. Added within
	// protocol version 1: an agent runs it only when it announces it (Cairn-Agent-Kinds).
	KindRetentionExpireSnapshots = "retention-expire-snapshots"
	// KindBrowse lists a directory of a volume's copy; KindFetch reads one file of it and uploads
	// it to the vault. Added within protocol version 1: an agent runs them only when it announces
	// them (Cairn-Agent-Kinds).
	KindBrowse = "browse"
	KindFetch  = "fetch"
	// KindValidate checks what a backup of an instance will need, without backing up (spec
	// Validate, result Checks). Added within protocol version 1: an agent runs it only when it
	// announces it.
	KindValidate = "validate"
	// KindTestRestore restores a recovery point into scratch namespaces, checks the result and
	// deletes them (spec TestRestore, result Restore and Checks). Added within protocol version 1:
	// an agent runs it only when it announces it.
	KindTestRestore = "test-restore"
	// KindInventory lists the recovery points an instance's repository holds, a page at a time,
	// so that the vault rebuilds its catalogue from storage (spec Inventory, result Inventory).
	// Added within protocol version 1: an agent runs it only when it announces it.
	KindInventory = "inventory"
)

// Kinds lists every job kind of the protocol, in the order people read them.
var Kinds = []string{KindBackup, KindRestore, KindRetentionDelete, KindVerify, KindRetentionExpireSnapshots, KindBrowse, KindFetch, KindValidate, KindTestRestore,
	KindInventory}

// KindsV1 are the kinds of protocol version 1 as first released: what an agent that does not
// announce its kinds runs. A kind added later is never handed to such an agent.
var KindsV1 = []string{KindBackup, KindRestore, KindRetentionDelete, KindVerify}
