package restore

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
)

// Actions taken (or, in a dry run, that would be taken) on an item.
const (
	ActionCreate    = "create"
	ActionPatch     = "patch"
	ActionRecreate  = "recreate"
	ActionUnchanged = "unchanged"
	ActionSkip      = "skip"
	ActionFail      = "fail"
)

// Restore phases: a restore ends in the phases a backup does (archive.Phase*), which own them.
const (
	PhaseCompleted       = archive.PhaseCompleted
	PhasePartiallyFailed = archive.PhasePartiallyFailed
	PhaseFailed          = archive.PhaseFailed
)

// Result is what a restore did, item by item. It is stored in the repository as restores/<name>.
type Result struct {
	Name        string                  `json:"name"`
	Backup      string                  `json:"backup"`
	DryRun      bool                    `json:"dryRun"`
	Spec        Spec                    `json:"spec"`
	StartedAt   time.Time               `json:"startedAt"`
	CompletedAt time.Time               `json:"completedAt"`
	Phase       string                  `json:"phase"`
	Counts      Counts                  `json:"counts"`
	Warnings    []string                `json:"warnings,omitempty"`
	Volumes     []VolumeResult          `json:"volumes,omitempty"`
	Hooks       []archive.HookExecution `json:"hooks,omitempty"`
	// Items are every item, or with ItemBatches some of them: those not plain and the first
	// plain ones (docs/design/format.md 4.4). ReadResult reads them all.
	Items []ItemResult `json:"items"`
	// ItemBatches counts the batches the restore wrote its items to, when it had many.
	ItemBatches int `json:"itemBatches,omitempty"`
}

// Spec records how the restore was asked for.
type Spec struct {
	Target              string            `json:"target"`
	IncludedNamespaces  []string          `json:"includedNamespaces,omitempty"`
	ExcludedNamespaces  []string          `json:"excludedNamespaces,omitempty"`
	IncludedResources   []string          `json:"includedResources,omitempty"`
	ExcludedResources   []string          `json:"excludedResources,omitempty"`
	LabelSelectors      []string          `json:"labelSelectors,omitempty"`
	Names               []string          `json:"names,omitempty"`
	ClusterResources    string            `json:"includeClusterResources"`
	NamespaceMapping    map[string]string `json:"namespaceMapping,omitempty"`
	StorageClassMapping map[string]string `json:"storageClassMapping,omitempty"`
	ConflictPolicy      string            `json:"conflictPolicy"`
	Modifiers           bool              `json:"modifiers,omitempty"`
	Volumes             string            `json:"volumes,omitempty"`
}

// Counts sums the items by action.
type Counts struct {
	Created   int `json:"created"`
	Patched   int `json:"patched"`
	Recreated int `json:"recreated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	// Converted counts the items restored at another version than they were backed up at.
	Converted int `json:"converted,omitempty"`
}

// ItemResult is one item's outcome.
type ItemResult struct {
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// TargetNamespace is set when namespace mapping moved the item.
	TargetNamespace string `json:"targetNamespace,omitempty"`
	Action          string `json:"action"`
	Reason          string `json:"reason,omitempty"`
	Diff            string `json:"diff,omitempty"`
	// Converted says how the item was converted to a version the target serves (package
	// convert), when the target does not serve the one it was backed up at.
	Converted string `json:"converted,omitempty"`
}

// A large restore writes its items in batches of batchSize to the repository rather than hold
// them all, and keeps in memory every item that is not plain and the first keptPlain plain ones
// (docs/design/format.md 4.4).
const (
	batchSize = 10000
	keptPlain = 1000
)

// recorder gathers item results from the restore's goroutines.
type recorder struct {
	mu       sync.Mutex
	items    []ItemResult // those kept in memory: all of them until the first batch is written
	batch    []ItemResult // not yet written
	batches  int          // written
	plain    int          // plain items kept since the first batch
	total    int
	counts   Counts
	storeErr error
	// store writes batch seq (from 1); nil keeps every item in memory.
	store    func(seq int, items []ItemResult) error
	volumes  []VolumeResult
	hooks    []archive.HookExecution
	warnings []string
	progress func(Progress)
}

// Progress is a snapshot of a running restore.
type Progress struct {
	Done     int
	Resource string
}

// plain tells an item a reader needs no line for: created or unchanged as backed up, its reason
// (if any) one that many items share.
func (it ItemResult) plain() bool {
	return (it.Action == ActionCreate || it.Action == ActionUnchanged) && it.Converted == "" && it.Diff == ""
}

func (r *recorder) add(it ItemResult) {
	r.mu.Lock()
	r.total++
	r.counts.add(it)
	if r.storeErr == nil {
		r.batch = append(r.batch, it)
	}
	switch {
	case r.batches == 0:
		r.items = append(r.items, it)
	case !it.plain():
		r.items = append(r.items, it)
	case r.plain < keptPlain:
		r.items = append(r.items, it)
		r.plain++
	}
	if len(r.batch) >= batchSize && r.store != nil && r.storeErr == nil {
		r.writeBatch()
	}
	// Reported under the lock: a report never follows a later one.
	if r.progress != nil {
		r.progress(Progress{Done: r.total, Resource: it.Resource})
	}
	r.mu.Unlock()
}

// writeBatch writes the pending items; after the first batch the items in memory are cut down to
// those kept. A failed write stops the batches: when it is the first, every item stays in memory
// (and in the result); after that, the counts stay complete and a warning says the items are not.
// Called with r.mu held.
func (r *recorder) writeBatch() {
	if err := r.store(r.batches+1, r.batch); err != nil {
		r.storeErr, r.batch = err, nil
		if r.batches > 0 {
			r.warnings = append(r.warnings, fmt.Sprintf("the restore's item list could not be stored in full (%v): its counts are complete, its items are not", err))
		}
		return
	}
	r.batches++
	r.batch = nil
	if r.batches == 1 {
		kept := make([]ItemResult, 0, keptPlain)
		for _, it := range r.items {
			if !it.plain() || r.plain < keptPlain {
				if it.plain() {
					r.plain++
				}
				kept = append(kept, it)
			}
		}
		r.items = kept
	}
}

func (c *Counts) add(it ItemResult) {
	switch it.Action {
	case ActionCreate:
		c.Created++
	case ActionPatch:
		c.Patched++
	case ActionRecreate:
		c.Recreated++
	case ActionUnchanged:
		c.Unchanged++
	case ActionSkip:
		c.Skipped++
	case ActionFail:
		c.Failed++
	}
	if it.Converted != "" && it.Action != ActionFail && it.Action != ActionSkip {
		c.Converted++
	}
}

func (r *recorder) volume(v VolumeResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.volumes = append(r.volumes, v)
}

func (r *recorder) hookRuns(execs []archive.HookExecution) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, execs...)
}

func (r *recorder) warn(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnings = append(r.warnings, msg)
}

func (r *recorder) finish(res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.batches > 0 && len(r.batch) > 0 && r.storeErr == nil {
		r.writeBatch()
	}
	res.Items = r.items
	res.ItemBatches = r.batches
	res.Counts = r.counts
	res.Warnings = r.warnings
	res.Volumes = r.volumes
	res.Hooks = r.hooks
	sort.Slice(res.Volumes, func(i, j int) bool {
		a, b := res.Volumes[i], res.Volumes[j]
		return a.Namespace+"/"+a.Claim < b.Namespace+"/"+b.Claim
	})
	res.Phase = PhaseCompleted
	volumeFailed := slices.ContainsFunc(res.Volumes, func(v VolumeResult) bool { return v.Outcome == VolumeFailed })
	if res.Counts.Failed > 0 || volumeFailed || hookFailed(res.Hooks) {
		res.Phase = PhasePartiallyFailed
		if res.Counts.Failed == r.total {
			res.Phase = PhaseFailed
		}
	}
}
