package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// RecoveryPointName names the recovery point a backup of instance makes for a run at at:
// <instance>-<yyyymmddhhmmss>, in UTC. Scheduled runs use their schedule time, on-demand backups
// the time of the request, retries the time their attempt is queued. Queue makes the name unique
// among the vault's backups: the first of name, name-2, name-3, ... that none made or is making.
func RecoveryPointName(instance string, at time.Time) string {
	return instance + "-" + at.UTC().Format("20060102150405")
}

// nameCandidates are the names a backup may give the recovery point named base, best first.
func nameCandidates(base string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if !yield(base) {
			return
		}
		for n := 2; yield(base + "-" + strconv.Itoa(n)); n++ {
		}
	}
}

// RestoreName names a restore of recovery point rp in the repository: r-<rp, shortened>-<random>.
func RestoreName(rp string) (string, error) {
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("name the restore: %w", err)
	}
	if len(rp) > 52 {
		rp = rp[:52]
	}
	return "r-" + rp + "-" + hex.EncodeToString(suffix), nil
}
