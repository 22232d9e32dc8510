package agentv1

// Job kinds. A new kind is its spec field in JobSpec, its entry in Kinds, and its runner in the
// agent.
const (
	KindBackup          = "backup"
	KindRestore         = "restore"
	KindRetentionDelete = "retention-delete"
	KindVerify          = "verify"
)

// Kinds lists every job kind of the protocol, in the order people read them.
var Kinds = []string{KindBackup, KindRestore, KindRetentionDelete, KindVerify}
