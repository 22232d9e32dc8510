package restore

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/hooks"
)

// workloadResources make pods; restore hooks wait for those pods.
var workloadResources = map[string]bool{
	"deployments.apps": true, "statefulsets.apps": true, "replicasets.apps": true, "daemonsets.apps": true, "jobs.batch": true,
}

// expectPods notes the pods a created item will bring, for the restore hooks.
func (r *run) expectPods(gr string, live *unstructured.Unstructured) {
	if r.opts.Hooks == nil || live == nil {
		return
	}
	e := hooks.Expected{Namespace: live.GetNamespace(), Replicas: 1}
	switch {
	case gr == "pods":
		e.PodName = live.GetName()
	case workloadResources[gr]:
		sel, ok, err := podSelector(live)
		if !ok || err != nil {
			return
		}
		e.Selector = sel
		field := "replicas"
		if gr == "jobs.batch" {
			field = "parallelism"
		}
		if n, found, _ := unstructured.NestedInt64(live.Object, "spec", field); found {
			e.Replicas = int(n)
		}
		if gr == "daemonsets.apps" {
			e.Replicas = 1
		}
	default:
		return
	}
	if e.Replicas <= 0 {
		return
	}
	r.mu.Lock()
	r.expected = append(r.expected, e)
	r.mu.Unlock()
}

func podSelector(obj *unstructured.Unstructured) (labels.Selector, bool, error) {
	raw, found, _ := unstructured.NestedMap(obj.Object, "spec", "selector")
	if !found {
		return nil, false, nil
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return nil, false, err
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	return sel, true, err
}

// runHooks runs the restore hooks in the restored pods once they run.
func (r *run) runHooks(ctx context.Context, res *Result) {
	if r.opts.Hooks == nil || r.opts.DryRun {
		return
	}
	execs, warnings, err := r.opts.Hooks.Run(ctx, r.expected, res.StartedAt)
	r.rec.hookRuns(execs)
	for _, w := range warnings {
		r.rec.warn("hook: " + w)
	}
	if err != nil {
		r.rec.warn(fmt.Sprintf("restore hook failed: %v", err))
	}
}

func hookFailed(execs []archive.HookExecution) bool {
	for _, e := range execs {
		if e.Outcome != archive.HookSucceeded && e.OnError == "Fail" {
			return true
		}
	}
	return false
}
