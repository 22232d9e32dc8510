package restore

import (
	"fmt"
	"slices"

	"github.com/cairnbackup/cairn/internal/humanize"
)

// The choices of Options.ConflictPolicy and Options.Volumes, the default first.
var (
	ConflictPolicies = []string{ConflictSkip, ConflictPatch, ConflictRecreate}
	VolumeModes      = []string{VolumesData, VolumesEmpty, VolumesSkip}
)

// CheckChoices checks a conflict policy and a volume mode; empty means the default.
func CheckChoices(conflictPolicy, volumes string) error {
	if conflictPolicy != "" && !slices.Contains(ConflictPolicies, conflictPolicy) {
		return fmt.Errorf("conflict policy %q: use %s", conflictPolicy, humanize.OrList(ConflictPolicies))
	}
	if volumes != "" && !slices.Contains(VolumeModes, volumes) {
		return fmt.Errorf("volumes %q: use %s", volumes, humanize.OrList(VolumeModes))
	}
	return nil
}
