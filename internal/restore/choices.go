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
	VolumeSources    = []string{SourceAuto, SourceSnapshot, SourceCopy}
)

// CheckVolumeSource checks where volume data comes from; empty means auto.
func CheckVolumeSource(source string) error {
	if source != "" && !slices.Contains(VolumeSources, source) {
		return fmt.Errorf("volume source %q: use %s", source, humanize.OrList(VolumeSources))
	}
	return nil
}

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
