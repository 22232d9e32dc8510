//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestVolumeSnapshotBackupAndRestore backs up a namespace whose pod wrote known data into a CSI
// volume, beside a hostPath volume that cannot be snapshotted, and restores it: mapped into another
// namespace, without data, into its own namespace after that was deleted, and into a second
// cluster that shares the storage backend.
func TestVolumeSnapshotBackupAndRestore(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	storage := "file://" + t.TempDir()
	sum := deployWriter(ctx, t, "vol-app")
	addHostPathClaim(ctx, t, "vol-app", "scratch")

	out, err := cairn(t, nil, "backup", "create", "vol-1", "--storage", storage, "--include-namespaces", "vol-app")
	if err != nil {
		t.Fatalf("a skipped volume must not fail the backup: %v", err)
	}
	if !strings.Contains(out, "1 snapshotted, 1 skipped, 0 failed (partial protection)") {
		t.Fatalf("backup output does not report partial protection:\n%s", out)
	}
	rp := describeBackup(t, storage, "vol-1")
	if rp.Result.Phase != archive.PhaseCompleted {
		t.Fatalf("phase %s, want Completed", rp.Result.Phase)
	}
	data := volumeRecord(t, rp, "vol-app", "data")
	if data.Outcome != archive.VolumeSnapshotted || data.Snapshot == nil || data.Snapshot.Handle == "" || data.Driver == "" || data.Volume == "" {
		t.Fatalf("data volume record: %+v", data)
	}
	scratch := volumeRecord(t, rp, "vol-app", "scratch")
	if scratch.Outcome != archive.VolumeSkipped || !strings.Contains(scratch.Reason, "hostPath volume, not CSI") {
		t.Fatalf("scratch volume record: %+v", scratch)
	}
	if !containsLine(rp.Result.Warnings, "vol-app/scratch not snapshotted") {
		t.Fatalf("no warning names the skipped volume: %v", rp.Result.Warnings)
	}
	dyn := dynamicOf(t)
	if list, err := dyn.Resource(snapshot.SnapshotResource).Namespace("vol-app").List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
		t.Fatalf("the backup left VolumeSnapshots in the namespace: %v %d", err, len(list.Items))
	}
	assertContent(ctx, t, dyn, data.Snapshot.Content, "Retain")

	t.Run("restore with namespace and storage class mapping", func(t *testing.T) {
		copyClass := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "cairn-csi-copy"}, Provisioner: data.Driver}
		if _, err := client.StorageV1().StorageClasses().Create(ctx, copyClass, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = client.StorageV1().StorageClasses().Delete(context.Background(), copyClass.Name, metav1.DeleteOptions{})
		})
		if _, err := cairn(t, nil, "restore", "create", "vol-map", "--from", "vol-1", "--storage", storage,
			"--namespace-mapping", "vol-app=vol-copy", "--storage-class-mapping", "cairn-csi=cairn-csi-copy"); err != nil {
			t.Fatal(err)
		}
		pvc, err := client.CoreV1().PersistentVolumeClaims("vol-copy").Get(ctx, "data", metav1.GetOptions{})
		if err != nil || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "cairn-csi-copy" {
			t.Fatalf("restored claim's class: %v %v", err, pvc.Spec.StorageClassName)
		}
		if got := checksumIn(ctx, t, cluster, "vol-copy"); got != sum {
			t.Fatalf("restored data %q, want %q", got, sum)
		}
		res := describeRestore(t, storage, "vol-map")
		v := restoredVolume(t, res, "data")
		if v.Outcome != restore.VolumeRestored || v.TargetNamespace != "vol-copy" || v.Snapshot != data.Snapshot.Handle || v.BoundSeconds <= 0 {
			t.Fatalf("volume result: %+v", v)
		}
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := dyn.Resource(snapshot.SnapshotResource).Namespace("vol-copy").List(ctx, metav1.ListOptions{})
			return err == nil && len(list.Items) == 0, nil
		})
		if err != nil {
			t.Fatal("the restore left its VolumeSnapshot behind")
		}
		assertContent(ctx, t, dyn, data.Snapshot.Content, "Retain")
	})

	t.Run("dry run", func(t *testing.T) {
		if _, err := cairn(t, nil, "restore", "create", "vol-dry", "--from", "vol-1", "--storage", storage,
			"--namespace-mapping", "vol-app=vol-dry", "--dry-run"); err != nil {
			t.Fatal(err)
		}
		if v := restoredVolume(t, describeRestore(t, storage, "vol-dry"), "data"); v.Outcome != restore.VolumeWouldRestore || v.Snapshot != data.Snapshot.Handle {
			t.Fatalf("volume result: %+v", v)
		}
		if _, err := client.CoreV1().Namespaces().Get(ctx, "vol-dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("the dry run created its namespace (%v)", err)
		}
	})

	t.Run("in-place volume restore needs the claim gone", func(t *testing.T) {
		_, err := cairn(t, nil, "restore", "create", "vol-inplace", "--from", "vol-1", "--storage", storage,
			"--include-namespaces", "vol-app", "--conflict-policy", "patch")
		if err == nil {
			t.Fatal("restoring volume data over an existing claim succeeded")
		}
		v := restoredVolume(t, describeRestore(t, storage, "vol-inplace"), "data")
		if v.Outcome != restore.VolumeFailed || !strings.Contains(v.Reason, "restoring its volume data needs the claim gone") {
			t.Fatalf("volume result: %+v", v)
		}
	})

	t.Run("restore without volume data", func(t *testing.T) {
		if _, err := cairn(t, nil, "restore", "create", "vol-empty", "--from", "vol-1", "--storage", storage,
			"--namespace-mapping", "vol-app=vol-empty", "--volumes", "empty"); err != nil {
			t.Fatal(err)
		}
		if got := checksumIn(ctx, t, cluster, "vol-empty"); got == sum {
			t.Fatal("the claim restored without data holds the backed-up data")
		}
		if v := restoredVolume(t, describeRestore(t, storage, "vol-empty"), "data"); v.Outcome != restore.VolumeEmpty {
			t.Fatalf("volume result: %+v", v)
		}
	})

	t.Run("restore skipping volumes", func(t *testing.T) {
		if _, err := cairn(t, nil, "restore", "create", "vol-skip", "--from", "vol-1", "--storage", storage,
			"--namespace-mapping", "vol-app=vol-novol", "--volumes", "skip", "--include-resources", "persistentvolumeclaims,configmaps"); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().PersistentVolumeClaims("vol-novol").Get(ctx, "data", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("the claim was restored with --volumes=skip (%v)", err)
		}
		if v := restoredVolume(t, describeRestore(t, storage, "vol-skip"), "data"); v.Outcome != restore.VolumeSkipped {
			t.Fatalf("volume result: %+v", v)
		}
	})

	t.Run("restore after the namespace is deleted", func(t *testing.T) {
		deleteNamespace(ctx, t, client, "vol-app")
		assertContent(ctx, t, dyn, data.Snapshot.Content, "Retain")
		if _, err := cairn(t, nil, "restore", "create", "vol-same", "--from", "vol-1", "--storage", storage); err != nil {
			t.Fatal(err)
		}
		if got := checksumIn(ctx, t, cluster, "vol-app"); got != sum {
			t.Fatalf("restored data %q, want %q", got, sum)
		}
	})

	t.Run("restore into another cluster sharing the storage", func(t *testing.T) {
		target, err := testenv.StartCluster(ctx, "e2e-volumes", testenv.WithCSI, testenv.SharedCSIState(cluster.CSIStateDir()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := testenv.StopCluster(context.Background(), target); err != nil {
				t.Error(err)
			}
		})
		if _, err := cairn(t, nil, "restore", "create", "vol-other", "--from", "vol-1", "--storage", storage,
			"--kubeconfig", target.State.Kubeconfig); err != nil {
			t.Fatal(err)
		}
		if got := checksumIn(ctx, t, target, "vol-app"); got != sum {
			t.Fatalf("data restored in the other cluster %q, want %q", got, sum)
		}

		// Without the snapshot API in the target, the claim fails with what to do about it.
		ext, err := apiextensionsclient.NewForConfig(restConfigOf(t, target))
		if err != nil {
			t.Fatal(err)
		}
		if err := ext.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, "volumesnapshots.snapshot.storage.k8s.io", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "volumesnapshots.snapshot.storage.k8s.io", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatal("the VolumeSnapshot CRD was not removed")
		}
		if _, err := cairn(t, nil, "restore", "create", "vol-noapi", "--from", "vol-1", "--storage", storage,
			"--namespace-mapping", "vol-app=vol-noapi", "--kubeconfig", target.State.Kubeconfig); err == nil {
			t.Fatal("a volume restore into a cluster without the snapshot API succeeded")
		}
		if v := restoredVolume(t, describeRestore(t, storage, "vol-noapi"), "data"); v.Outcome != restore.VolumeFailed || !strings.Contains(v.Reason, "does not serve the snapshot API") {
			t.Fatalf("volume result: %+v", v)
		}
	})
}

// TestVolumeRetention deletes the snapshots of expired recovery points, and only theirs.
func TestVolumeRetention(t *testing.T) {
	ctx := t.Context()
	storage := "file://" + t.TempDir()
	deployWriter(ctx, t, "vol-ret")
	t0 := time.Now()
	at := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
	for name, retain := range map[string]string{"ret-short": "1h", "ret-long": "2d"} {
		if _, err := cairn(t, at(0), "backup", "create", name, "--storage", storage, "--include-namespaces", "vol-ret", "--retain", retain); err != nil {
			t.Fatal(err)
		}
	}
	short := volumeRecord(t, describeBackup(t, storage, "ret-short"), "vol-ret", "data").Snapshot
	long := volumeRecord(t, describeBackup(t, storage, "ret-long"), "vol-ret", "data").Snapshot
	if short.Handle == long.Handle {
		t.Fatal("two backups share one snapshot")
	}
	dyn := dynamicOf(t)

	out, err := cairn(t, at(30*time.Minute), "backup", "prune", "--storage", storage)
	if err != nil || !strings.Contains(out, "no backup has expired") {
		t.Fatalf("prune before expiry: %v\n%s", err, out)
	}
	out, err = cairn(t, at(2*time.Hour), "backup", "prune", "--storage", storage)
	if err != nil || !strings.Contains(out, `deleted backup "ret-short" (`) || !strings.Contains(out, "1 volume snapshots") || strings.Contains(out, "ret-long") {
		t.Fatalf("prune after the short retention: %v\n%s", err, out)
	}
	assertContentGone(ctx, t, dyn, short.Content)
	assertDriverSnapshot(t, short.Handle, false)
	assertContent(ctx, t, dyn, long.Content, "Retain")
	assertDriverSnapshot(t, long.Handle, true)

	// A content made again after the snapshot controller deleted it (pre-provisioned, unbound, so
	// without the sidecar's finalizer) is deleted at the driver too.
	makeContentAgain(ctx, t, dyn, long.Content)
	assertDriverSnapshot(t, long.Handle, true)
	if _, err := cairn(t, nil, "backup", "delete", "ret-long", "--storage", storage); err != nil {
		t.Fatal(err)
	}
	assertContentGone(ctx, t, dyn, long.Content)
	assertDriverSnapshot(t, long.Handle, false)
}

// TestSnapshotThatNeverBecomesReadyTimesOut uses a snapshot class whose snapshots the test driver
// never reports ready: the backup fails that volume with a clear error and cleans up after it.
func TestSnapshotThatNeverBecomesReadyTimesOut(t *testing.T) {
	ctx := t.Context()
	dyn := dynamicOf(t)
	class := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": "never-ready"},
		"driver":   "hostpath.csi.cairn.dev", "deletionPolicy": "Delete",
		"parameters": map[string]any{"cairn.dev/never-ready": "true"},
	}}
	if _, err := dyn.Resource(snapshot.ClassResource).Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(snapshot.ClassResource).Delete(context.Background(), "never-ready", metav1.DeleteOptions{})
	})
	deployWriter(ctx, t, "vol-slow")
	storage := "file://" + t.TempDir()

	out, err := cairn(t, nil, "backup", "create", "slow-1", "--storage", storage, "--include-namespaces", "vol-slow",
		"--snapshot-class", "never-ready", "--snapshot-timeout", "3s")
	if err == nil || !strings.Contains(err.Error(), "partially failed") {
		t.Fatalf("want a partially failed backup, got %v\n%s", err, out)
	}
	v := volumeRecord(t, describeBackup(t, storage, "slow-1"), "vol-slow", "data")
	if v.Outcome != archive.VolumeFailed || !strings.Contains(v.Reason, "not ready after 3s") {
		t.Fatalf("volume record: %+v", v)
	}
	assertSnapshotsDeleted(ctx, t, dyn, "vol-slow")
}

// assertSnapshotsDeleted checks that cairn deleted every VolumeSnapshot of ns. Their finalizers
// are the snapshot controller's and the sidecar's to clear, which under load can take longer than
// the wait: a snapshot still there passes when its deletion has been asked for.
func assertSnapshotsDeleted(ctx context.Context, t *testing.T, dyn dynamic.Interface, ns string) {
	t.Helper()
	var left []unstructured.Unstructured
	_ = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := dyn.Resource(snapshot.SnapshotResource).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		left = list.Items
		return len(left) == 0, nil
	})
	for _, s := range left {
		if s.GetDeletionTimestamp() == nil {
			t.Fatalf("VolumeSnapshot %s/%s was not deleted: %v", ns, s.GetName(), s.Object)
		}
		t.Logf("VolumeSnapshot %s/%s deleted, still held by finalizers %v: %v", ns, s.GetName(), s.GetFinalizers(), s.Object["status"])
	}
}

// addHostPathClaim binds a claim to a static hostPath volume, which cairn cannot snapshot.
func addHostPathClaim(ctx context.Context, t *testing.T, ns, name string) {
	t.Helper()
	client := clientOf(t, cluster)
	dir := t.TempDir()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:       "manual",
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Mi")},
			ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: name},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
		},
	}
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim(ns, name, "manual"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		c, err := client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && c.Status.Phase == corev1.ClaimBound, nil
	})
	if err != nil {
		t.Fatalf("claim %s/%s not bound to its hostPath volume", ns, name)
	}
}

func dynamicOf(t *testing.T) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(restConfigOf(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

func assertContent(ctx context.Context, t *testing.T, dyn dynamic.Interface, name, policy string) {
	t.Helper()
	obj, err := dyn.Resource(snapshot.ContentResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("VolumeSnapshotContent %s: %v", name, err)
	}
	if got, _, _ := unstructured.NestedString(obj.Object, "spec", "deletionPolicy"); got != policy {
		t.Fatalf("VolumeSnapshotContent %s has deletionPolicy %s, want %s", name, got, policy)
	}
}

// makeContentAgain replaces a retained content by a pre-provisioned one with its name, labels,
// annotations and handle, as the backup does when the snapshot controller deleted the content, and
// waits until csi-snapshotter finds the snapshot ready.
func makeContentAgain(ctx context.Context, t *testing.T, dyn dynamic.Interface, name string) {
	t.Helper()
	res := dyn.Resource(snapshot.ContentResource)
	old, err := res.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	handle, _, _ := unstructured.NestedString(old.Object, "status", "snapshotHandle")
	driver, _, _ := unstructured.NestedString(old.Object, "spec", "driver")
	ref, _, _ := unstructured.NestedStringMap(old.Object, "spec", "volumeSnapshotRef")
	if err := res.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll := func(what string, done func() bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) { return done(), nil })
		if err != nil {
			t.Fatalf("VolumeSnapshotContent %s: %s: %v", name, what, err)
		}
	}
	poll("not gone", func() bool {
		_, err := res.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	again := snapshot.PreProvisionedContent(map[string]any{"name": name}, driver, handle, ref["namespace"], ref["name"])
	again.SetLabels(old.GetLabels())
	again.SetAnnotations(map[string]string{snapshot.AnnotationHandle: handle})
	if _, err := res.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll("not ready", func() bool {
		obj, err := res.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		ready, _, _ := unstructured.NestedBool(obj.Object, "status", "readyToUse")
		return ready
	})
}

func assertContentGone(ctx context.Context, t *testing.T, dyn dynamic.Interface, name string) {
	t.Helper()
	if _, err := dyn.Resource(snapshot.ContentResource).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("VolumeSnapshotContent %s still exists (%v)", name, err)
	}
}

// assertDriverSnapshot looks into the test driver's storage: the snapshot's metadata file is there
// exactly while the driver holds the snapshot.
func assertDriverSnapshot(t *testing.T, handle string, want bool) {
	t.Helper()
	_, err := os.Stat(filepath.Join(cluster.CSIStateDir(), "snapshots", handle+".json"))
	if got := err == nil; got != want {
		t.Fatalf("driver holds snapshot %s: %v, want %v", handle, got, want)
	}
}

func restoredVolume(t *testing.T, res restore.Result, claim string) restore.VolumeResult {
	t.Helper()
	for _, v := range res.Volumes {
		if v.Claim == claim {
			return v
		}
	}
	t.Fatalf("restore %s has no volume result for %s: %+v", res.Name, claim, res.Volumes)
	return restore.VolumeResult{}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestVolumePolicyAndSwitch skips volumes on purpose: by a volume policy rule, and all of them with
// --snapshot-volumes=false.
func TestVolumePolicyAndSwitch(t *testing.T) {
	ctx := t.Context()
	storage := "file://" + t.TempDir()
	deployWriter(ctx, t, "vol-pol")
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	doc := "volumePolicies:\n- conditions: {storageClass: [cairn-*], capacity: \"0,1Gi\"}\n  action: skip\n"
	if err := os.WriteFile(policy, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cairn(t, nil, "backup", "create", "pol-1", "--storage", storage, "--include-namespaces", "vol-pol", "--volume-policy", policy); err != nil {
		t.Fatal(err)
	}
	if v := volumeRecord(t, describeBackup(t, storage, "pol-1"), "vol-pol", "data"); v.Outcome != archive.VolumeSkipped || v.Reason != "volume policy rule 1 says skip" {
		t.Fatalf("volume record: %+v", v)
	}
	if _, err := cairn(t, nil, "backup", "create", "pol-2", "--storage", storage, "--include-namespaces", "vol-pol", "--snapshot-volumes=false"); err != nil {
		t.Fatal(err)
	}
	if rp := describeBackup(t, storage, "pol-2"); len(rp.Volumes) != 0 || rp.Spec.SnapshotVolumes {
		t.Fatalf("volumes recorded with --snapshot-volumes=false: %+v", rp.Volumes)
	}
	if list, err := dynamicOf(t).Resource(snapshot.ContentResource).List(ctx, metav1.ListOptions{LabelSelector: snapshot.LabelRecoveryPoint + " in (pol-1,pol-2)"}); err != nil || len(list.Items) != 0 {
		t.Fatalf("snapshots were taken: %v %d", err, len(list.Items))
	}
	_, err := cairn(t, nil, "backup", "create", "pol-3", "--storage", storage, "--volume-policy", filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "read --volume-policy") {
		t.Fatalf("a missing policy file: %v", err)
	}
}
