package jobs

// MaxAttempts is how often a backup whose agent stopped reporting is tried.
const MaxAttempts = 3

// LeaseKey is the key that serialises a job with the others of the same key: no two running jobs
// hold one key, and a queued job waits while its key is held. The jobs that touch an instance's
// repository (its backups, deletions and verifications) hold the instance's name; restores, the
// browse and fetch jobs that only read a volume's copy, test restores (restores too),
// validations (which write only a probe where no repository is yet), and jobs of no instance, hold none ("") and run alongside.
func LeaseKey(kind Kind, instance string) string {
	if kind == KindRestore || kind == KindBrowse || kind == KindFetch || kind == KindValidate || kind == KindTestRestore {
		return ""
	}
	return instance
}

// leaseExpiredError is the error of a job whose agent stopped reporting until its lease ran out.
const leaseExpiredError = "the agent stopped reporting (lease expired)"

// RevokedError is the error of the queued and running jobs of a cluster whose trust grant is
// revoked: the store fails them with it in the revocation's transaction.
const RevokedError = "the cluster's trust grant was revoked"
