package backup

import (
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestProgressNeverGoesBack: the backup's goroutines report as they capture, and the reports
// arrive one at a time with counts that never decrease.
func TestProgressNeverGoesBack(t *testing.T) {
	var calls testenv.ProgressCalls
	b := &run{opts: Options{Progress: func(p Progress) { calls.Report(p.Items) }}}
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
	if err := calls.Check(workers * each); err != nil {
		t.Fatal(err)
	}
}
