package testenv

import (
	"fmt"
	"sync/atomic"
)

// ProgressCalls checks a progress callback's calls as a meter sees them: one at a time, with
// counts that never go back (a meter takes a lower count for a new start and counts again).
type ProgressCalls struct {
	inCall            atomic.Int32
	last              int64
	back, overlapping int
}

// Report records one call, with the count it reported.
func (p *ProgressCalls) Report(count int64) {
	if p.inCall.Add(1) > 1 {
		p.overlapping++
	}
	if count < p.last {
		p.back++
	}
	p.last = count
	p.inCall.Add(-1)
}

// Check returns an error when a call overlapped another, a count went back, or the last count
// is not want. Call it after the calls.
func (p *ProgressCalls) Check(want int64) error {
	if p.back > 0 || p.overlapping > 0 || p.last != want {
		return fmt.Errorf("%d reports went back, %d overlapped another, the last said %d (want %d)", p.back, p.overlapping, p.last, want)
	}
	return nil
}
