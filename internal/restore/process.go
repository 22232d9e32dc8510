package restore

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/restore/convert"
)

// pendingItem is one backed-up item on its way to a worker.
type pendingItem struct {
	group archive.IndexGroup
	raw   []byte
}

// restoreResource restores every item of one resource type: sections are read in order (several
// reads under way at once) and their items spread over the workers. Pass 1 restores items without owner references; pass 2
// those with, once their owners exist and their new uids are known.
func (r *run) restoreResource(ctx context.Context, b *archive.Backup, gr string, groups []archive.IndexGroup, pass int, p *plan) {
	if len(groups) == 0 {
		return
	}
	items := make(chan pendingItem, 256)
	var wg sync.WaitGroup
	for range r.opts.Parallelism {
		wg.Go(func() {
			for it := range items {
				r.processItem(ctx, gr, it.group, it.raw, pass, p)
			}
		})
	}
	_ = b.ReadGroups(ctx, groups, func(gi int, raw []byte) error {
		select {
		case items <- pendingItem{group: groups[gi], raw: raw}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, func(gi int, err error) {
		if pass == 1 {
			r.rec.add(ItemResult{Resource: gr, Namespace: groups[gi].Namespace, Name: "*", Action: ActionFail,
				Reason: fmt.Sprintf("reading the backup failed: %v", err)})
		}
	})
	close(items)
	wg.Wait()
}

func (r *run) processItem(ctx context.Context, gr string, g archive.IndexGroup, raw []byte, pass int, p *plan) {
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(raw); err != nil {
		if pass == 1 {
			r.rec.add(ItemResult{Resource: gr, Namespace: g.Namespace, Name: "?", Action: ActionFail, Reason: "item does not decode: " + err.Error()})
		}
		return
	}
	if !r.inScope(gr, g, obj, p) {
		return
	}
	hasOwners := len(obj.GetOwnerReferences()) > 0
	srcNS, name := obj.GetNamespace(), obj.GetName()
	item := ItemResult{Resource: gr, Namespace: srcNS, Name: name}
	if reason := skipReason(gr, obj, r.selectorServiceSet()); reason != "" {
		if pass == 1 {
			item.Action, item.Reason = ActionSkip, reason
			r.rec.add(item)
		}
		return
	}
	if reason, skipped := r.pvSkip(name); skipped && gr == "persistentvolumes" {
		if pass == 1 {
			item.Action, item.Reason = ActionSkip, reason
			r.rec.add(item)
		}
		return
	}
	if hasOwners != (pass == 2) {
		if hasOwners {
			r.mu.Lock()
			r.owned[gr] = true
			r.mu.Unlock()
		}
		return
	}
	if gr == "services" && pass == 1 {
		if sel, found, _ := unstructured.NestedMap(obj.Object, "spec", "selector"); found && len(sel) > 0 {
			r.mu.Lock()
			r.selectorServices[srcNS+"/"+name] = true
			r.mu.Unlock()
		}
	}
	clean(gr, obj, r.clean)
	r.mapper.apply(gr, obj)
	if tn := obj.GetNamespace(); tn != srcNS {
		item.TargetNamespace = tn
	}
	if _, err := r.opts.Modifiers.Apply(gr, obj); err != nil {
		item.Action, item.Reason = ActionFail, err.Error()
		r.rec.add(item)
		return
	}
	if hasOwners {
		r.repointOwners(ctx, obj, &item)
	}
	if gr == "persistentvolumeclaims" && r.prepareClaim(ctx, srcNS, obj, &item) {
		return
	}
	backedUp := schema.GroupVersionResource{Group: g.Group, Version: g.Version, Resource: g.Resource}
	if conv, ok := convert.For(backedUp.GroupVersion().WithKind(g.Kind)); ok && !r.served.serves(backedUp) {
		if err := conv.Apply(obj); err != nil {
			item.Action, item.Reason = ActionFail, err.Error()
			r.rec.add(item)
			return
		}
		backedUp, item.Converted = conv.GroupVersionResource(), conv.String()
	}
	gvr, namespaced, err := r.served.resolve(backedUp)
	if err != nil && r.opts.DryRun && r.served.wouldServe(backedUp) {
		item.Action, item.Reason = ActionCreate, "its CRD is created by the restore (not validated: the target does not serve it yet)"
		r.rec.add(item)
		return
	}
	if err != nil {
		item.Action, item.Reason = ActionFail, err.Error()
		r.rec.add(item)
		return
	}
	if gvr.Version != backedUp.Version {
		// No conversion of Kubernetes is known: a custom resource goes through its CRD's
		// conversion webhook, if it has one; others go to the served version as they are.
		how, err := r.convertByCRD(ctx, backedUp, gvr, obj)
		if err != nil {
			item.Action, item.Reason = ActionFail, err.Error()
			r.rec.add(item)
			return
		}
		item.Converted = fmt.Sprintf("%s %s → %s (%s)", backedUp.GroupVersion(), g.Kind, gvr.GroupVersion(), how)
	}
	var note string
	if gr == "persistentvolumes" {
		note = r.releaseStale(ctx, name)
	}
	out := r.apply(ctx, gr, gvr, namespaced, obj)
	out.reason = joinReasons(out.reason, note)
	if gr == "persistentvolumeclaims" {
		r.claimApplied(obj.GetNamespace(), obj.GetName(), out.action)
	}
	item.Action, item.Reason, item.Diff = out.action, out.reason, out.diff
	r.rec.add(item)
	if gr == crdResource && (out.action == ActionCreate || out.action == ActionRecreate) {
		if r.opts.DryRun {
			r.served.plan(obj)
		}
		r.mu.Lock()
		r.restoredCRDs = append(r.restoredCRDs, obj.GetName())
		r.mu.Unlock()
	}
	if out.live != nil {
		r.rememberUID(gvr, out.live)
		if out.action == ActionCreate || out.action == ActionRecreate {
			r.expectPods(gr, out.live)
		}
	}
}

// inScope applies the per-item filters: label selectors and names for namespaced items; for
// cluster-scoped ones, dependencies in "deps" mode; for Namespace objects, the namespaces in scope.
func (r *run) inScope(gr string, g archive.IndexGroup, obj *unstructured.Unstructured, p *plan) bool {
	switch {
	case gr == "namespaces":
		return r.scope.NamespaceIncluded(obj.GetName()) && (p.sourceNamespaces[obj.GetName()] || r.scope.ExplicitlyNamed(obj.GetName()))
	case !g.Namespaced && p.deps != nil:
		return p.deps.Has(gr, obj.GetName())
	}
	return r.wanted(obj)
}

// selectorServiceSet returns the Services-with-selector set. It is written only while Services
// are restored, and read (for Endpoints) only after every Service is done.
func (r *run) selectorServiceSet() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.selectorServices
}

// repointOwners replaces owner uids with those of the restored (or already present) owners, and
// drops references to owners that do not exist: the garbage collector would delete the item.
func (r *run) repointOwners(ctx context.Context, obj *unstructured.Unstructured, item *ItemResult) {
	refs := obj.GetOwnerReferences()
	var kept []metav1.OwnerReference
	for _, ref := range refs {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			continue
		}
		ns := obj.GetNamespace()
		gvr, namespaced, ok := r.served.forKind(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
		if ok && !namespaced {
			ns = ""
		}
		r.mu.Lock()
		uid, known := r.uids[ownerKey(gv.Group, ref.Kind, ns, ref.Name)]
		r.mu.Unlock()
		if !known && ok && !r.opts.DryRun {
			var live *unstructured.Unstructured
			if ns != "" {
				live, err = r.dyn.Resource(gvr).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
			} else {
				live, err = r.dyn.Resource(gvr).Get(ctx, ref.Name, metav1.GetOptions{})
			}
			if err == nil {
				uid, known = string(live.GetUID()), true
			}
		}
		if !known {
			if !r.opts.DryRun {
				r.rec.warn(fmt.Sprintf("%s %s/%s: dropped its owner reference to %s %s, which does not exist in the target",
					item.Resource, obj.GetNamespace(), obj.GetName(), ref.Kind, ref.Name))
			}
			continue
		}
		ref.UID = types.UID(uid)
		kept = append(kept, ref)
	}
	obj.SetOwnerReferences(kept)
}

// ensureNamespaces creates the target namespaces the restored items need that neither exist nor
// were restored from the backup.
func (r *run) ensureNamespaces(ctx context.Context, targets []string) {
	for _, ns := range targets {
		r.mu.Lock()
		exists := r.existingNS[ns] || r.plannedNS[ns]
		r.mu.Unlock()
		if exists {
			continue
		}
		item := ItemResult{Resource: "namespaces", Name: ns, Action: ActionCreate, Reason: "needed by restored items"}
		if !r.opts.DryRun {
			_, err := r.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				item.Action, item.Reason = ActionFail, err.Error()
			}
		}
		r.rec.add(item)
		if !r.opts.DryRun {
			r.markNamespace(ns)
		}
	}
}

func (r *run) markNamespace(ns string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.existingNS[ns] = true
}

// awaitCRDs waits until every restored CRD is Established, then refreshes what the target serves.
func (r *run) awaitCRDs(ctx context.Context) {
	if r.opts.DryRun {
		return
	}
	gvr := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	r.mu.Lock()
	names := r.restoredCRDs
	r.mu.Unlock()
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			crd, err := r.dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == string(apiextensionsv1.Established) && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			r.rec.warn(fmt.Sprintf("CRD %s did not become Established: %v", name, err))
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return r.served.refresh() == nil, nil
	}); err != nil {
		r.rec.warn(fmt.Sprintf("could not refresh the target's resource types after restoring CRDs: %v", err))
	}
}
