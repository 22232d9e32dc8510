package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/cairnbackup/cairn/api/v1alpha1"
)

// LoadBackupHooks reads, decodes and validates the BackupHooks named by "namespace/name"
// references. A reference given twice is loaded once.
func LoadBackupHooks(ctx context.Context, dyn dynamic.Interface, refs []string) ([]*v1alpha1.BackupHook, error) {
	return load(ctx, dyn, v1alpha1.BackupHookResource, "BackupHook", "--backup-hook", refs, ValidateBackupHook)
}

// LoadRestoreHooks reads, decodes and validates the RestoreHooks named by "namespace/name"
// references. A reference given twice is loaded once.
func LoadRestoreHooks(ctx context.Context, dyn dynamic.Interface, refs []string) ([]*v1alpha1.RestoreHook, error) {
	return load(ctx, dyn, v1alpha1.RestoreHookResource, "RestoreHook", "--restore-hook", refs, ValidateRestoreHook)
}

func load[T any](ctx context.Context, dyn dynamic.Interface, res schema.GroupVersionResource, kind, flag string,
	refs []string, validate func(*T) error) ([]*T, error) {
	var out []*T
	var errs []error
	var seen []string
	for _, ref := range refs {
		ns, name, err := v1alpha1.ParseHookRef(ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
			continue
		}
		if slices.Contains(seen, ref) {
			continue
		}
		seen = append(seen, ref)
		obj, err := dyn.Resource(res).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if crdMissing(ctx, dyn, res, ns) {
				return nil, fmt.Errorf("the %s CRD (%s) is not installed in this cluster: `cairn hooks install-crds` (or any backup or restore run) installs it",
					kind, res.GroupResource())
			}
			errs = append(errs, fmt.Errorf("%s %s not found: create it (kubectl apply -f ...) or fix %s", kind, ref, flag))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s %s: %w", kind, ref, err))
			continue
		}
		data, err := json.Marshal(obj.Object)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: encode: %w", kind, ref, err))
			continue
		}
		h := new(T)
		if err := json.Unmarshal(data, h); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: cannot decode (durations look like 30s or 5m): %w", kind, ref, err))
			continue
		}
		if err := validate(h); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, h)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// crdMissing tells whether a NotFound came from the resource type rather than the object: listing
// an installed resource type never answers NotFound.
func crdMissing(ctx context.Context, dyn dynamic.Interface, res schema.GroupVersionResource, ns string) bool {
	_, err := dyn.Resource(res).Namespace(ns).List(ctx, metav1.ListOptions{Limit: 1})
	return apierrors.IsNotFound(err)
}
