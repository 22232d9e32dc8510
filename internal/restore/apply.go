package restore

import (
	"context"

	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
)

const fieldManager = "cairn"

// outcome is what applying one object did (or would do).
type outcome struct {
	action, reason, diff string
	live                 *unstructured.Unstructured // the object as it now stands, for owner uids
}

// neverRecreate are types whose deletion would take other data with it: a Namespace its contents,
// a CRD all its custom resources. The recreate policy patches them instead.
var neverRecreate = map[string]bool{
	"namespaces": true, crdResource: true,
}

func (r *run) apply(ctx context.Context, gr string, gvr schema.GroupVersionResource, namespaced bool, obj *unstructured.Unstructured) outcome {
	var ri dynamic.ResourceInterface = r.dyn.Resource(gvr)
	if namespaced {
		ri = r.dyn.Resource(gvr).Namespace(obj.GetNamespace())
	}
	if r.opts.DryRun {
		return r.dryRun(ctx, gr, gvr, ri, namespaced, obj)
	}
	created, err := r.create(ctx, gr, gvr, ri, namespaced, obj, metav1.CreateOptions{FieldManager: fieldManager})
	if err == nil {
		if gr == "namespaces" {
			r.markNamespace(obj.GetName())
		}
		return outcome{action: ActionCreate, live: created}
	}
	if !apierrors.IsAlreadyExists(err) {
		return outcome{action: ActionFail, reason: err.Error()}
	}
	policy := r.opts.ConflictPolicy
	if policy == ConflictRecreate && neverRecreate[gr] {
		policy = ConflictPatch
	}
	switch policy {
	case ConflictPatch:
		return r.patch(ctx, gr, ri, obj, false)
	case ConflictRecreate:
		return r.recreate(ctx, gr, gvr, ri, namespaced, obj)
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		live = nil
	}
	return outcome{action: ActionSkip, reason: "already exists (conflict policy skip)", live: live}
}

// create creates obj. The restore reads back only the new object's metadata (creator), but for a
// workload whose pods restore hooks wait for: their selector is the one the apiserver stored,
// which it may have made (a Job's).
func (r *run) create(ctx context.Context, gr string, gvr schema.GroupVersionResource, ri dynamic.ResourceInterface, namespaced bool,
	obj *unstructured.Unstructured, opts metav1.CreateOptions) (*unstructured.Unstructured, error) {
	if r.opts.Hooks != nil && workloadResources[gr] {
		return ri.Create(ctx, obj, opts)
	}
	return r.creator.create(ctx, gvr, namespaced, obj, opts)
}

// patch brings an existing object to the backed-up state: an update with the backed-up object
// replaces every field, so fields added since the backup go away, while what the server allocated
// and will not let go of is carried over from the live object.
// A controller that writes the object between the read and the update (a Deployment's, annotating
// it) makes the update a conflict: it is read and updated again.
func (r *run) patch(ctx context.Context, gr string, ri dynamic.ResourceInterface, obj *unstructured.Unstructured, dryRun bool) outcome {
	opts := metav1.UpdateOptions{FieldManager: fieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var live, after *unstructured.Unstructured
	var readErr error
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if live, readErr = ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); readErr != nil {
			return readErr
		}
		desired := obj.DeepCopy()
		carryOver(gr, live, desired)
		var err error
		after, err = ri.Update(ctx, desired, opts)
		return err
	})
	if readErr != nil {
		return outcome{action: ActionFail, reason: fmt.Sprintf("read the existing object: %v", readErr)}
	}
	if err != nil {
		return outcome{action: ActionFail, reason: fmt.Sprintf("patch the existing object: %v", err), live: live}
	}
	if dryRun {
		if d := diffObjects(live, after); d != "" {
			return outcome{action: ActionPatch, reason: "exists; would be brought to the backed-up state", diff: d, live: live}
		}
		return outcome{action: ActionUnchanged, reason: "already in the backed-up state", live: live}
	}
	if after.GetResourceVersion() == live.GetResourceVersion() {
		return outcome{action: ActionUnchanged, reason: "already in the backed-up state", live: after}
	}
	return outcome{action: ActionPatch, reason: "existed; brought to the backed-up state", live: after}
}

// recreate deletes the existing object, waits until it is gone, and creates the backed-up one.
func (r *run) recreate(ctx context.Context, gr string, gvr schema.GroupVersionResource, ri dynamic.ResourceInterface, namespaced bool,
	obj *unstructured.Unstructured) outcome {
	policy := metav1.DeletePropagationBackground
	if err := ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil && !apierrors.IsNotFound(err) {
		return outcome{action: ActionFail, reason: fmt.Sprintf("delete the existing object: %v", err)}
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return outcome{action: ActionFail, reason: "the existing object did not go away (a finalizer may hold it)"}
	}
	created, err := r.create(ctx, gr, gvr, ri, namespaced, obj, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return outcome{action: ActionFail, reason: fmt.Sprintf("deleted the existing object, then creating failed: %v", err)}
	}
	return outcome{action: ActionRecreate, reason: "existed; deleted and created from the backup", live: created}
}

// dryRun reports what apply would do, asking the apiserver to validate creates and patches
// without persisting them.
// Nothing exists in a namespace the target does not have, so those items are not looked up: a
// restore into new namespaces (a new cluster) checks them without a request each.
func (r *run) dryRun(ctx context.Context, gr string, gvr schema.GroupVersionResource, ri dynamic.ResourceInterface, namespaced bool,
	obj *unstructured.Unstructured) outcome {
	r.mu.Lock()
	nsExists := !namespaced || r.existingNS[obj.GetNamespace()]
	r.mu.Unlock()
	if !nsExists {
		return outcome{action: ActionCreate, reason: "in a namespace the restore creates"}
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if gr == "namespaces" {
			r.mu.Lock()
			r.plannedNS[obj.GetName()] = true
			r.mu.Unlock()
		}
		if _, err := r.creator.create(ctx, gvr, namespaced, obj, metav1.CreateOptions{FieldManager: fieldManager, DryRun: []string{metav1.DryRunAll}}); err != nil {
			return outcome{action: ActionFail, reason: err.Error()}
		}
		return outcome{action: ActionCreate}
	}
	if err != nil {
		return outcome{action: ActionFail, reason: fmt.Sprintf("read the existing object: %v", err)}
	}
	policy := r.opts.ConflictPolicy
	if policy == ConflictRecreate && neverRecreate[gr] {
		policy = ConflictPatch
	}
	switch policy {
	case ConflictPatch:
		return r.patch(ctx, gr, ri, obj, true)
	case ConflictRecreate:
		return outcome{action: ActionRecreate, reason: "exists; would be deleted and created from the backup", diff: diffObjects(live, obj), live: live}
	}
	return outcome{action: ActionSkip, reason: "already exists (conflict policy skip)", live: live}
}
