package restore

import (
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
	Items       []ItemResult            `json:"items"`
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

// recorder gathers item results from the restore's goroutines.
type recorder struct {
	mu       sync.Mutex
	items    []ItemResult
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

func (r *recorder) add(it ItemResult) {
	r.mu.Lock()
	r.items = append(r.items, it)
	n := len(r.items)
	r.mu.Unlock()
	if r.progress != nil {
		r.progress(Progress{Done: n, Resource: it.Resource})
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
	res.Items = r.items
	res.Warnings = r.warnings
	res.Volumes = r.volumes
	res.Hooks = r.hooks
	sort.Slice(res.Volumes, func(i, j int) bool {
		a, b := res.Volumes[i], res.Volumes[j]
		return a.Namespace+"/"+a.Claim < b.Namespace+"/"+b.Claim
	})
	for _, it := range r.items {
		switch it.Action {
		case ActionCreate:
			res.Counts.Created++
		case ActionPatch:
			res.Counts.Patched++
		case ActionRecreate:
			res.Counts.Recreated++
		case ActionUnchanged:
			res.Counts.Unchanged++
		case ActionSkip:
			res.Counts.Skipped++
		case ActionFail:
			res.Counts.Failed++
		}
		if it.Converted != "" && it.Action != ActionFail && it.Action != ActionSkip {
			res.Counts.Converted++
		}
	}
	res.Phase = PhaseCompleted
	volumeFailed := slices.ContainsFunc(res.Volumes, func(v VolumeResult) bool { return v.Outcome == VolumeFailed })
	if res.Counts.Failed > 0 || volumeFailed || hookFailed(res.Hooks) {
		res.Phase = PhasePartiallyFailed
		if res.Counts.Failed == len(r.items) {
			res.Phase = PhaseFailed
		}
	}
}
