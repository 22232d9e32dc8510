package policy

import (
	"errors"
	"fmt"
	"time"
)

// VerifySchedule says how often the vault reads back the newest good recovery point of each
// instance on the policy (docs/design/monitoring.md, "Verification"): its structure every
// Structure, its data every Data. Either may be zero (that level is not scheduled), not both. A
// data verification reads everything a structure one does, so it counts as one too.
type VerifySchedule struct {
	Structure Duration `json:"structure,omitempty"`
	Data      Duration `json:"data,omitempty"`
}

// minVerifyInterval is the shortest interval of a verification schedule: each verification holds
// the instance's repository (its lease key) and reads from its storage.
const minVerifyInterval = time.Hour

// validate checks the schedule, each problem naming its field.
func (v VerifySchedule) validate() []error {
	if v.Structure == 0 && v.Data == 0 {
		return []error{errors.New(`verify: give structure, data or both (e.g. {"structure": "7d", "data": "30d"}), or leave verify out`)}
	}
	var errs []error
	for _, f := range []struct {
		name string
		d    Duration
	}{{"verify.structure", v.Structure}, {"verify.data", v.Data}} {
		switch {
		case f.d < 0:
			errs = append(errs, fmt.Errorf("%s %s: must be positive", f.name, f.d))
		case f.d > 0 && time.Duration(f.d) < minVerifyInterval:
			errs = append(errs, fmt.Errorf("%s %s: at least %s", f.name, f.d, Duration(minVerifyInterval)))
		}
	}
	if v.Structure > 0 && v.Data > 0 && v.Structure >= v.Data {
		errs = append(errs, fmt.Errorf("verify.structure %s is not shorter than verify.data %s: every data verification also checks the structure, so it would never come due; shorten it or leave it out",
			v.Structure, v.Data))
	}
	return errs
}

// Due tells whether a verification of an instance is due at now, and whether of its data (else
// of its structure). lastStructure is when the last verification of either level was queued and
// lastData the last of the data, each the instance's creation when there was none. Missed
// intervals collapse into one verification.
func (v VerifySchedule) Due(now, lastStructure, lastData time.Time) (due, data bool) {
	if v.Data > 0 && !now.Before(lastData.Add(time.Duration(v.Data))) {
		return true, true
	}
	if lastData.After(lastStructure) {
		lastStructure = lastData
	}
	if v.Structure > 0 && !now.Before(lastStructure.Add(time.Duration(v.Structure))) {
		return true, false
	}
	return false, false
}
