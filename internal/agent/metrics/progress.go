package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Progress counts the items and bytes one job processed from its progress reports, which say how
// far the job got so far: each report adds what it grew since the previous report of the same
// stage. A report lower than the one before (the stage counts from zero again) adds nothing and
// is the base of the next; stages count apart, so one that counts other things (volumes copied
// after objects backed up) neither adds to another's count nor takes from it. Safe for concurrent
// use.
type Progress struct {
	items, bytes prometheus.Counter

	mu   sync.Mutex
	last map[string][2]int64 // by stage: items, bytes
}

// Progress returns the counter of a job of kind's progress.
func (m *Metrics) Progress(kind string) *Progress {
	kind = kindLabel(kind)
	return &Progress{items: m.items.WithLabelValues(kind), bytes: m.bytes.WithLabelValues(kind), last: map[string][2]int64{}}
}

// Report counts a progress report of stage ("" for the job's own): items and bytes done so far.
func (p *Progress) Report(stage string, items, bytes int64) {
	p.mu.Lock()
	prev := p.last[stage]
	p.last[stage] = [2]int64{items, bytes}
	p.mu.Unlock()
	if d := items - prev[0]; d > 0 {
		p.items.Add(float64(d))
	}
	if d := bytes - prev[1]; d > 0 {
		p.bytes.Add(float64(d))
	}
}
