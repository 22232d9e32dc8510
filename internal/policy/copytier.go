package policy

import (
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
)

// CopyTier says which scheduled backups copy their volumes' files into the repository and how
// long the copies are kept (docs/design/vault.md, "The copy tier of a policy"). Exactly one of
// Every and Daily is set.
type CopyTier struct {
	// Every N copies the 1st, (N+1)-th, (2N+1)-th... scheduled backup of an instance (N ≥ 1).
	Every int `json:"every,omitempty"`
	// Daily copies the first scheduled backup of each UTC day.
	Daily bool `json:"daily,omitempty"`
	// Retention is how long copies are kept, with the rules of the snapshot tier's retention.
	Retention Retention `json:"retention"`
}

// Selects tells whether the scheduled backup of an instance at run time at copies: n is its
// ordinal among the instance's scheduled backups (1 for the first), lastCopy when the last one
// that copied was scheduled (zero: none yet).
func (c CopyTier) Selects(at time.Time, n int, lastCopy time.Time) bool {
	switch {
	case c.Every > 0:
		return n >= 1 && (n-1)%c.Every == 0
	case c.Daily:
		return lastCopy.IsZero() || utcDay(at) != utcDay(lastCopy)
	}
	return false
}

// VolumeData is the volume data mode of a scheduled backup of an instance whose own mode is
// instanceMode: without a copy tier, the instance's; with one, snapshot+copy for the backups the
// tier selects (copy when the instance's mode is copy) and snapshot for the others.
func VolumeData(tier *CopyTier, instanceMode string, selected bool) string {
	switch {
	case tier == nil:
		return instanceMode
	case !selected:
		return archive.VolumeDataSnapshot
	case instanceMode == archive.VolumeDataCopy:
		return archive.VolumeDataCopy
	}
	return archive.VolumeDataSnapshotAndCopy
}

func utcDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Describe says the copy tier in words, e.g. "copy daily (UTC), keep 365d".
func (c CopyTier) Describe() string {
	sel := "copy daily (UTC)"
	switch {
	case c.Every == 1:
		sel = "copy every backup"
	case c.Every > 1:
		sel = fmt.Sprintf("copy every %d backups", c.Every)
	}
	return sel + ", " + c.Retention.Describe()
}
