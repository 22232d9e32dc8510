package backup

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestProgressNeverGoesBack: the backup's goroutines report as they capture, and the reports
// arrive one at a time with counts that never decrease. The agent's meter takes a lower count for
// a stage starting over, and would count its items again.
func TestProgressNeverGoesBack(t *testing.T) {
	var calls atomic.Int32
	var last int64
	var back, overlapping int
	b := &run{opts: Options{Progress: func(p Progress) {
		if calls.Add(1) > 1 {
			overlapping++
		}
		if p.Items < last {
			back++
		}
		last = p.Items
		calls.Add(-1)
	}}}
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				b.items.Add(1)
				b.progress("configmaps", false)
			}
		})
	}
	wg.Wait()
	if back > 0 || overlapping > 0 || last != workers*each {
		t.Fatalf("%d reports went back, %d overlapped another, the last said %d items (want %d)", back, overlapping, last, workers*each)
	}
}
