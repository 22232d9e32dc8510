package snapshot

// AnnotationFSBackup on a namespace or a claim opts the claims in to the file-system backup
// when their volume has no snapshot: "true" opts in, a claim's "false" opts it out of its
// namespace's "true" (docs/design/volumes.md, "File-system backup of volumes without snapshots").
const AnnotationFSBackup = "backup.cairn.dev/fs-backup"

// FSBackupOptIn reports whether the annotations of a claim and of its namespace opt the claim in
// to the file-system backup: the claim's value decides when it says true or false, else the
// namespace's.
func FSBackupOptIn(namespaceAnnotations, claimAnnotations map[string]string) bool {
	switch claimAnnotations[AnnotationFSBackup] {
	case "true":
		return true
	case "false":
		return false
	}
	return namespaceAnnotations[AnnotationFSBackup] == "true"
}
