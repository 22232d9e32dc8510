//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/restore"
)

// TestStaticPV restores claims bound to statically provisioned hostPath volumes (Retain, a storage
// class without a StorageClass object) and checks that each comes back bound to its volume, or,
// when the volume belongs to another claim, that it is left alone.
func TestStaticPV(t *testing.T) {
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	s := staticPVs{t: t, ctx: t.Context(), client: client, repo: storageURL(t)}

	t.Run("namespace deleted: the Released volume is bound again", func(t *testing.T) {
		s.t = t
		s.setup("spv-a", "spv-a-data")
		s.deleteNamespace("spv-a")
		s.waitVolumePhase("spv-a-data", corev1.VolumeReleased)
		res := restoreJSON(t, source, "restore", "create", "spv-a-back", "--from", "spv-a", "--storage", s.repo, "--include-namespaces", "spv-a")
		s.checkRestored(res, "spv-a", "spv-a-data")
		pv := s.item(res, "persistentvolumes", "spv-a-data")
		if pv.Action != restore.ActionSkip || !strings.Contains(pv.Reason, "cleared") {
			t.Errorf("volume item: %+v", pv)
		}
	})

	t.Run("volume deleted too: it is created from the backup", func(t *testing.T) {
		s.t = t
		s.setup("spv-b", "spv-b-data")
		s.deleteNamespace("spv-b")
		if err := client.CoreV1().PersistentVolumes().Delete(s.ctx, "spv-b-data", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		s.waitGone(func(ctx context.Context) error {
			_, err := client.CoreV1().PersistentVolumes().Get(ctx, "spv-b-data", metav1.GetOptions{})
			return err
		})
		res := restoreJSON(t, source, "restore", "create", "spv-b-back", "--from", "spv-b", "--storage", s.repo, "--include-namespaces", "spv-b")
		s.checkRestored(res, "spv-b", "spv-b-data")
		if pv := s.item(res, "persistentvolumes", "spv-b-data"); pv.Action != restore.ActionCreate {
			t.Errorf("volume item: %+v", pv)
		}
	})

	t.Run("namespace mapping: another claim's volume is not taken", func(t *testing.T) {
		s.t = t
		s.setup("spv-c", "spv-c-data")
		owner, err := client.CoreV1().PersistentVolumeClaims("spv-c").Get(s.ctx, "data", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Bound to spv-c/data, then Released by its deletion: neither time may spv-c2/data take it.
		for _, step := range []struct{ name, ns string }{{"spv-c-bound", "spv-c2"}, {"spv-c-released", "spv-c3"}} {
			if step.name == "spv-c-released" {
				s.deleteNamespace("spv-c")
				s.waitVolumePhase("spv-c-data", corev1.VolumeReleased)
			}
			res := restoreJSON(t, source, "restore", "create", step.name, "--from", "spv-c", "--storage", s.repo,
				"--include-namespaces", "spv-c", "--namespace-mapping", "spv-c="+step.ns, "--conflict-policy", "patch")
			if res.Counts.Failed > 0 {
				t.Fatalf("%s: %+v", step.name, failures(res))
			}
			if pv := s.item(res, "persistentvolumes", "spv-c-data"); pv.Action != restore.ActionSkip || !strings.Contains(pv.Reason, "spv-c/data") {
				t.Errorf("%s: volume item %+v", step.name, pv)
			}
			if !strings.Contains(strings.Join(res.Warnings, "\n"), step.ns+"/data") {
				t.Errorf("%s: no warning about the claim: %q", step.name, res.Warnings)
			}
			claim, err := client.CoreV1().PersistentVolumeClaims(step.ns).Get(s.ctx, "data", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if claim.Spec.VolumeName != "" {
				t.Errorf("%s: mapped claim has volumeName %q", step.name, claim.Spec.VolumeName)
			}
			pv, err := client.CoreV1().PersistentVolumes().Get(s.ctx, "spv-c-data", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ref := pv.Spec.ClaimRef; ref == nil || ref.Namespace != "spv-c" || ref.UID != owner.UID {
				t.Errorf("%s: volume's claimRef %+v, want spv-c/data %s", step.name, ref, owner.UID)
			}
		}
		// Unmapped, the claim it belongs to comes back to it.
		res := restoreJSON(t, source, "restore", "create", "spv-c-back", "--from", "spv-c", "--storage", s.repo, "--include-namespaces", "spv-c")
		s.checkRestored(res, "spv-c", "spv-c-data")
	})
}

// staticPVs holds what the subtests of TestStaticPV share.
type staticPVs struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	repo   string
}

// setup makes namespace ns with claim "data" bound to hostPath volume pv, and backs the namespace
// up as a recovery point named ns.
func (s staticPVs) setup(ns, pv string) {
	s.t.Helper()
	ctx, c := s.ctx, s.client.CoreV1()
	if _, err := c.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		s.t.Fatal(err)
	}
	size := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	class := "manual"
	_, err := c.PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pv},
		Spec: corev1.PersistentVolumeSpec{Capacity: size, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class, PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + pv}}}},
		metav1.CreateOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	_, err = c.PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class, VolumeName: pv, Resources: corev1.VolumeResourceRequirements{Requests: size}}},
		metav1.CreateOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	s.waitClaimBound(ns, pv)
	mustCairn(s.t, source, "backup", "create", ns, "--storage", s.repo, "--include-namespaces", ns)
}

func (s staticPVs) deleteNamespace(ns string) {
	s.t.Helper()
	if err := s.client.CoreV1().Namespaces().Delete(s.ctx, ns, metav1.DeleteOptions{}); err != nil {
		s.t.Fatal(err)
	}
	s.waitGone(func(ctx context.Context) error {
		_, err := s.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return err
	})
}

func (s staticPVs) waitGone(get func(context.Context) error) {
	s.t.Helper()
	err := wait.PollUntilContextTimeout(s.ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(get(ctx)), nil
	})
	if err != nil {
		s.t.Fatalf("not gone: %v", err)
	}
}

func (s staticPVs) waitVolumePhase(pv string, phase corev1.PersistentVolumePhase) {
	s.t.Helper()
	var last corev1.PersistentVolumePhase
	err := wait.PollUntilContextTimeout(s.ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		v, err := s.client.CoreV1().PersistentVolumes().Get(ctx, pv, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = v.Status.Phase
		return last == phase, nil
	})
	if err != nil {
		s.t.Fatalf("volume %s is %s, want %s", pv, last, phase)
	}
}

// waitClaimBound waits until claim ns/data and volume pv are bound to each other.
func (s staticPVs) waitClaimBound(ns, pv string) {
	s.t.Helper()
	claim, vol := &corev1.PersistentVolumeClaim{}, &corev1.PersistentVolume{}
	err := wait.PollUntilContextTimeout(s.ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		c, err := s.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		v, err := s.client.CoreV1().PersistentVolumes().Get(ctx, pv, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		claim, vol = c, v
		ref := vol.Spec.ClaimRef
		return claim.Status.Phase == corev1.ClaimBound && claim.Spec.VolumeName == pv && vol.Status.Phase == corev1.VolumeBound &&
			ref != nil && ref.UID == claim.UID, nil
	})
	if err != nil {
		s.t.Fatalf("claim %s/data and volume %s not bound to each other: claim %+v %+v, volume %+v %+v", ns, pv,
			claim.Spec, claim.Status, vol.Spec.ClaimRef, vol.Status)
	}
}

// checkRestored checks a restore of namespace ns succeeded and its claim is bound to pv.
func (s staticPVs) checkRestored(res restore.Result, ns, pv string) {
	s.t.Helper()
	if res.Phase != restore.PhaseCompleted || res.Counts.Failed > 0 {
		s.t.Fatalf("restore %s: %s %+v %+v %q", res.Name, res.Phase, failures(res), res.Volumes, res.Warnings)
	}
	if claim := s.item(res, "persistentvolumeclaims", "data"); claim.Action != restore.ActionCreate {
		s.t.Errorf("claim item: %+v", claim)
	}
	if len(res.Volumes) != 1 || res.Volumes[0].Outcome != restore.VolumeRestored || res.Volumes[0].BoundSeconds <= 0 {
		s.t.Errorf("volume results: %+v", res.Volumes)
	}
	s.waitClaimBound(ns, pv)
}

func (s staticPVs) item(res restore.Result, resource, name string) restore.ItemResult {
	s.t.Helper()
	for _, it := range res.Items {
		if it.Resource == resource && it.Name == name {
			return it
		}
	}
	s.t.Fatalf("restore %s: no %s %s in %+v", res.Name, resource, name, res.Items)
	return restore.ItemResult{}
}
