package jobs

import (
	"fmt"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// VolumeFilesJob reads path in the copy of claim namespace/claim in recovery point rp of the
// instance, on cluster (the recovery point's): kind KindBrowse lists the directory, KindFetch
// uploads the file (docs/design/vault.md, "Browsing a volume's copy"). Neither holds a lease key
// nor is retried.
func VolumeFilesJob(kind Kind, in Instance, rp, cluster, namespace, claim, path, by string) (NewJob, error) {
	v := agentv1.VolumePath{RecoveryPoint: rp, Storage: in.Storage, Namespace: namespace, Claim: claim, Path: path}
	nj := NewJob{Kind: kind, Instance: in.Name, Cluster: cluster, RecoveryPoint: rp, Trigger: TriggerUser, CreatedBy: by}
	switch kind {
	case KindBrowse:
		nj.Spec.Browse = &agentv1.BrowseJob{VolumePath: v}
	case KindFetch:
		nj.Spec.Fetch = &agentv1.FetchJob{VolumePath: v}
	default:
		return NewJob{}, fmt.Errorf("kind %q reads no volume's files: %w", kind, ErrInvalid)
	}
	return nj, nil
}
