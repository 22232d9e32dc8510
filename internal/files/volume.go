package files

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// VolumeCopy returns the ID of the file snapshot that holds the copy of claim namespace/claim in
// recovery point rp (docs/design/volumes.md, "Files of a volume without a restore"). A point
// without a copy of the claim is an error saying why: the claim's outcome, or the modes that copy.
func VolumeCopy(ctx context.Context, repo *archive.Repository, rp, namespace, claim string) (string, error) {
	b, err := repo.OpenBackup(ctx, rp)
	if err != nil {
		return "", err
	}
	rec, ok := b.Manifest().Volume(namespace, claim)
	if !ok {
		return "", fmt.Errorf("recovery point %s records no claim %s/%s", rp, namespace, claim)
	}
	if rec.Copy == nil && rec.Snapshot == nil {
		return "", fmt.Errorf("recovery point %s holds no copy of claim %s/%s: its volume is %s (%s)", rp, namespace, claim, rec.Outcome, rec.Reason)
	}
	if rec.Copy == nil {
		mode := b.Manifest().Spec.VolumeData
		if known, err := archive.ParseVolumeData(mode); err == nil {
			mode = known
		}
		return "", fmt.Errorf("recovery point %s holds no copy of claim %s/%s (volume data %s): back up with --volume-data copy or snapshot+copy to copy volumes' files",
			rp, namespace, claim, mode)
	}
	return rec.Copy.FileSnapshot, nil
}

// VolumeSnapshot is VolumeCopy's file snapshot, loaded.
func (s *Store) VolumeSnapshot(ctx context.Context, rp, namespace, claim string) (*filerepo.Snapshot, error) {
	id, err := VolumeCopy(ctx, s.repo, rp, namespace, claim)
	if err != nil {
		return nil, err
	}
	snap, err := filerepo.LoadSnapshot(ctx, s.repo, id)
	if err != nil {
		return nil, fmt.Errorf("copy of claim %s/%s in recovery point %s: %w", namespace, claim, rp, err)
	}
	return snap, nil
}
