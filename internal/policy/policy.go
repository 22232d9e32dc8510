package policy

// Policy is a backup policy: when to back up and how long to keep what.
type Policy struct {
	Name     string   `json:"name"`
	Schedule Schedule `json:"schedule"`
	// Retention is the snapshot tier's, and the whole recovery point's when it holds no copy (or
	// the policy has no copy tier).
	Retention Retention `json:"retention"`
	// Copy is the copy tier: which scheduled backups also copy their volumes into the repository,
	// and how long those copies are kept. Nil: no copy tier.
	Copy *CopyTier `json:"copy,omitempty"`
	// RPO is the recovery point objective of the instances on this policy (docs/design/monitoring.md);
	// zero: the schedule's longest gap plus an hour.
	RPO Duration `json:"rpo,omitempty"`
	// Verify schedules the verification of each instance's newest good recovery point; nil: none.
	Verify *VerifySchedule `json:"verify,omitempty"`
	// TestRestore schedules automatic test restores of each instance; nil: none.
	TestRestore *TestRestore `json:"testRestore,omitempty"`
	// LockFor makes the files of each recovery point of the instances on this policy immutable in
	// storage for this long after its backup (S3 object lock, Azure immutability, the file
	// store's lock); zero: no lock.
	LockFor Duration `json:"lockFor,omitempty"`
}
