package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/archive"
)

// staticVolumes is what the restore does with the backed-up PersistentVolumes it brings back that
// already exist in the target (docs/design/volumes.md, "Claims of statically provisioned volumes").
type staticVolumes struct {
	// stale names the volumes whose claimRef still holds the uid of a deleted claim that the
	// restore brings back: the uid is cleared, so that the binder binds the restored claim again.
	stale map[string]corev1.ObjectReference
	// refused names, with why, the volumes that belong to a claim the restore does not bring back
	// under that name: they are left as they are, and claims naming them lose their volumeName.
	refused map[string]string
}

func newStaticVolumes() *staticVolumes {
	return &staticVolumes{stale: map[string]corev1.ObjectReference{}, refused: map[string]string{}}
}

// backedUpPV is what a restore needs of a backed-up PersistentVolume.
type backedUpPV struct {
	name string
	// claim is the namespace/name its claimRef names in the target (namespace mapped), or "".
	claim string
}

func readBackedUpPV(item []byte, m mapper) backedUpPV {
	var pv struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			ClaimRef *struct {
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"claimRef"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(item, &pv)
	out := backedUpPV{name: pv.Metadata.Name}
	if ref := pv.Spec.ClaimRef; ref != nil {
		out.claim = m.namespace(ref.Namespace) + "/" + ref.Name
	}
	return out
}

// note decides about one backed-up volume the restore brings back, given the live one of that name
// (nil if none) and the claims the restore brings back (target namespace/name → volumeName). It
// reports whether the claims naming the volume keep their volumeName.
func (s *staticVolumes) note(ctx context.Context, client kubernetes.Interface, pv backedUpPV, live *corev1.PersistentVolume,
	claims map[string]string) (bool, error) {
	if live == nil || live.Spec.ClaimRef == nil {
		return true, nil
	}
	ref := *live.Spec.ClaimRef
	owner := ref.Namespace + "/" + ref.Name
	switch {
	case owner != pv.claim:
		s.refused[pv.name] = fmt.Sprintf("belongs to claim %s in the target (%s)", owner, live.Status.Phase)
		return false, nil
	case ref.UID == "" || claims[owner] != pv.name:
		return true, nil
	}
	// A live claim of that name, bound to the volume or made anew, is left to the conflict policy,
	// and so is the volume.
	_, err := client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s.stale[pv.name] = ref
	case err != nil:
		return false, fmt.Errorf("read claim %s in the target: %w", owner, err)
	}
	return true, nil
}

// warnRefused warns about each claim the restore brings back without the volume it names.
func (s *staticVolumes) warnRefused(claims map[string]string, rec *recorder) {
	for _, claim := range slices.Sorted(maps.Keys(claims)) {
		volume := claims[claim]
		if why, ok := s.refused[volume]; ok {
			rec.warn(fmt.Sprintf("claim %s is restored without volumeName: its volume %s %s and is not taken over", claim, volume, why))
		}
	}
}

// liveVolumes returns the target's PersistentVolumes by name.
func (r *run) liveVolumes(ctx context.Context) (map[string]*corev1.PersistentVolume, error) {
	list, err := r.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list the target's persistent volumes: %w", err)
	}
	out := make(map[string]*corev1.PersistentVolume, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// restoredClaims reads the claims the restore brings back: target namespace/name → volumeName.
func (r *run) restoredClaims(ctx context.Context, b *archive.Backup, p *plan) (map[string]string, error) {
	claims := map[string]string{}
	for _, g := range p.groups["persistentvolumeclaims"] {
		err := b.ReadGroup(ctx, g, func(item []byte) error {
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(item); err != nil {
				return fmt.Errorf("decode persistentvolumeclaims item: %w", err)
			}
			if r.wanted(obj) {
				volume, _, _ := unstructured.NestedString(obj.Object, "spec", "volumeName")
				claims[r.mapper.namespace(obj.GetNamespace())+"/"+obj.GetName()] = volume
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return claims, nil
}

// releaseStale clears from an existing volume's claimRef the uid of the deleted claim the restore
// brings back, as the binder would for a claim made anew. It returns a note for the volume's item.
func (r *run) releaseStale(ctx context.Context, name string) string {
	ref, ok := r.static.stale[name]
	if !ok {
		return ""
	}
	claim := ref.Namespace + "/" + ref.Name
	if r.opts.DryRun {
		return fmt.Sprintf("its claimRef holds the uid of deleted claim %s: it would be cleared, so that the restored claim binds to it again", claim)
	}
	uid, err := json.Marshal(string(ref.UID))
	if err != nil {
		return fmt.Sprintf("its claimRef holds the uid of deleted claim %s: %v", claim, err)
	}
	patch := `[{"op":"test","path":"/spec/claimRef/uid","value":` + string(uid) + `},` +
		`{"op":"add","path":"/spec/claimRef/uid","value":""},{"op":"add","path":"/spec/claimRef/resourceVersion","value":""}]`
	_, err = r.client.CoreV1().PersistentVolumes().Patch(ctx, name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil {
		msg := fmt.Sprintf("volume %s: its claimRef's uid of deleted claim %s was not cleared, so the restored claim does not bind to it: %v", name, claim, err)
		r.rec.warn(msg)
		return msg
	}
	r.log.Info("stale claim uid cleared from volume", "volume", name, "namespace", ref.Namespace, "claim", ref.Name)
	return fmt.Sprintf("its claimRef held the uid of deleted claim %s: cleared, so that the restored claim binds to it again", claim)
}

// pvSkip tells whether a backed-up volume is not restored, and why.
func (r *run) pvSkip(name string) (string, bool) {
	if reason, ok := r.vols.skipPV[name]; ok {
		return reason, true
	}
	if why, ok := r.static.refused[name]; ok {
		return "exists and " + why + ": left as it is, whatever the conflict policy", true
	}
	return "", false
}

func joinReasons(reasons ...string) string {
	var kept []string
	for _, s := range reasons {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, "; ")
}
