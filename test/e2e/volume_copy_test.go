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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// TestVolumeCopy copies a volume into the repository (copy mode: no snapshot kept), deletes the
// namespace, and restores it from the copy alone: into its own namespace, and mapped into another
// namespace and storage class. A second backup in snapshot+copy mode keeps its snapshot and adds
// almost nothing to the file store. One file comes back without a restore. The data mover leaves
// nothing behind.
func TestVolumeCopy(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	dyn := dynamicOf(t)
	storage := "file://" + t.TempDir()
	image := agentImageIn(t, cluster)
	ensureNamespace(ctx, t, client, trustgrant.DefaultNamespace)
	sum := deployWriter(ctx, t, "copy-app")
	moverFlags := []string{"--mover-image", image}

	out, err := cairn(t, nil, append([]string{"backup", "create", "copy-1", "--storage", storage, "--include-namespaces", "copy-app",
		"--volume-data", "copy"}, moverFlags...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1 copied, 0 copies failed") {
		t.Fatalf("backup output does not report the copy:\n%s", out)
	}
	rp := describeBackup(t, storage, "copy-1")
	rec := volumeRecord(t, rp, "copy-app", "data")
	if rec.Outcome != archive.VolumeCopied || rec.Copy == nil || rec.Snapshot != nil || rec.Copy.Files != 2 || rec.Copy.Bytes < 4<<20 {
		t.Fatalf("copy-mode record: %+v copy %+v", rec, rec.Copy)
	}
	if rp.Result.Phase != archive.PhaseCompleted || rp.Spec.VolumeData != archive.VolumeDataCopy {
		t.Fatalf("phase %s, volume data %q; errors %v", rp.Result.Phase, rp.Spec.VolumeData, rp.Result.Errors)
	}
	contents, err := dyn.Resource(snapshot.ContentResource).List(ctx, metav1.ListOptions{LabelSelector: snapshot.LabelRecoveryPoint + "=copy-1"})
	if err != nil || len(contents.Items) != 0 {
		t.Fatalf("copy mode kept %d snapshot contents (%v)", len(contents.Items), err)
	}
	assertNoMoverLeftovers(ctx, t, client)

	t.Run("one file without a restore", func(t *testing.T) {
		ls, err := cairn(t, nil, "files", "ls", "copy-1/copy-app/data", "--storage", storage)
		if err != nil || !strings.Contains(ls, "blob.sha256") {
			t.Fatalf("files ls of the copy: %v\n%s", err, ls)
		}
		dir := filepath.Join(t.TempDir(), "one")
		if _, err := cairn(t, nil, "files", "restore", "copy-1/copy-app/data:blob.sha256", dir, "--storage", storage); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "blob.sha256"))
		if err != nil || strings.TrimSpace(string(got)) != sum {
			t.Fatalf("fetched checksum %q (%v), want %q", got, err, sum)
		}
		if _, err := cairn(t, nil, "files", "ls", "copy-1/copy-app/nope", "--storage", storage); err == nil || !strings.Contains(err.Error(), "records no claim copy-app/nope") {
			t.Fatalf("a claim the recovery point does not hold: %v", err)
		}
	})

	t.Run("snapshot+copy is incremental and keeps the snapshot", func(t *testing.T) {
		// An incremental snapshot (sharing unchanged files with the volume's previous one) is read
		// like any other.
		if _, err := cairn(t, nil, append([]string{"backup", "create", "copy-2", "--storage", storage, "--include-namespaces", "copy-app",
			"--volume-data", "snapshot+copy", "--snapshot-class", localcluster.CSIIncrementalSnapshotClass}, moverFlags...)...); err != nil {
			t.Fatal(err)
		}
		rec := volumeRecord(t, describeBackup(t, storage, "copy-2"), "copy-app", "data")
		if rec.Outcome != archive.VolumeSnapshotted || rec.Snapshot == nil || rec.Copy == nil {
			t.Fatalf("snapshot+copy record: %+v", rec)
		}
		if rec.Copy.AddedBytes > 64<<10 {
			t.Fatalf("the unchanged volume's second copy added %d bytes", rec.Copy.AddedBytes)
		}
		assertContent(ctx, t, dyn, rec.Snapshot.Content, "Retain")
		assertNoMoverLeftovers(ctx, t, client)
	})

	// The disaster: the namespace is gone, and copy-1 has no snapshot to fall back on.
	deleteNamespace(ctx, t, client, "copy-app")

	t.Run("restore from the copy", func(t *testing.T) {
		if _, err := cairn(t, nil, append([]string{"restore", "create", "r-copy", "--from", "copy-1", "--storage", storage}, moverFlags...)...); err != nil {
			t.Fatal(err)
		}
		if got := checksumIn(ctx, t, cluster, "copy-app"); got != sum {
			t.Fatalf("restored checksum %q, want %q", got, sum)
		}
		res := describeRestore(t, storage, "r-copy")
		if len(res.Volumes) != 1 || res.Volumes[0].Outcome != restore.VolumeRestored || res.Volumes[0].Source != restore.SourceCopy {
			t.Fatalf("restore volumes: %+v", res.Volumes)
		}
		assertSettledVolume(ctx, t, client, "copy-app", "data")
		assertNoMoverLeftovers(ctx, t, client)
	})

	t.Run("into another namespace and storage class", func(t *testing.T) {
		other := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "cairn-csi-other"}, Provisioner: rec.Driver}
		if _, err := client.StorageV1().StorageClasses().Create(ctx, other, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = client.StorageV1().StorageClasses().Delete(context.Background(), other.Name, metav1.DeleteOptions{})
		})
		if _, err := cairn(t, nil, append([]string{"restore", "create", "r-clone", "--from", "copy-2", "--storage", storage,
			"--namespace-mapping", "copy-app=copy-clone", "--storage-class-mapping", "cairn-csi=cairn-csi-other", "--volume-source", "copy"},
			moverFlags...)...); err != nil {
			t.Fatal(err)
		}
		if got := checksumIn(ctx, t, cluster, "copy-clone"); got != sum {
			t.Fatalf("cloned checksum %q, want %q", got, sum)
		}
		pvc, err := client.CoreV1().PersistentVolumeClaims("copy-clone").Get(ctx, "data", metav1.GetOptions{})
		if err != nil || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != other.Name {
			t.Fatalf("cloned claim's class: %v %v", pvc.Spec.StorageClassName, err)
		}
		assertSettledVolume(ctx, t, client, "copy-clone", "data")
		assertNoMoverLeftovers(ctx, t, client)
		deleteNamespace(ctx, t, client, "copy-clone")
	})
	t.Run("into another cluster on other storage", func(t *testing.T) {
		// Its CSI driver keeps its own volumes and snapshots: copy-2's snapshot is not there, so
		// the restore (auto) falls back to the copy.
		target, err := testenv.StartCluster(ctx, "e2e-copy", testenv.WithCSI)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := testenv.StopCluster(context.Background(), target); err != nil {
				t.Error(err)
			}
		})
		targetClient := clientOf(t, target)
		ensureNamespace(ctx, t, targetClient, trustgrant.DefaultNamespace)
		otherImage := agentImageIn(t, target)
		other := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "other-csi"}, Provisioner: rec.Driver}
		if _, err := targetClient.StorageV1().StorageClasses().Create(ctx, other, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cairn(t, nil, "restore", "create", "r-other", "--from", "copy-2", "--storage", storage, "--mover-image", otherImage,
			"--storage-class-mapping", "cairn-csi=other-csi", "--kubeconfig", target.State.Kubeconfig); err != nil {
			t.Fatal(err)
		}
		if got := checksumIn(ctx, t, target, "copy-app"); got != sum {
			t.Fatalf("checksum in the other cluster %q, want %q", got, sum)
		}
		res := describeRestore(t, storage, "r-other")
		if len(res.Volumes) != 1 || res.Volumes[0].Source != restore.SourceCopy || !containsLine(res.Warnings, "is not usable in the target") {
			t.Fatalf("volumes %+v, warnings %v", res.Volumes, res.Warnings)
		}
		pvc, err := targetClient.CoreV1().PersistentVolumeClaims("copy-app").Get(ctx, "data", metav1.GetOptions{})
		if err != nil || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != other.Name {
			t.Fatalf("claim's class in the other cluster: %v %v", pvc.Spec.StorageClassName, err)
		}
	})
	t.Run("retention expires the snapshot and keeps the copy", func(t *testing.T) {
		// What a vault policy's copy tier has the agent do when snapshots expire before copies.
		snapRec := volumeRecord(t, describeBackup(t, storage, "copy-2"), "copy-app", "data")
		repo, err := usecase.OpenRepository(ctx, usecase.Location{URL: storage}, archive.Credential{Passphrase: []byte(passphrase)}, usecase.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		snaps, err := snapshot.New(restConfigOf(t, cluster), snapshot.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d, err := backup.ExpireSnapshots(ctx, repo, "copy-2", snaps, time.Now()); err != nil || d.SnapshotsDeleted != 1 {
			t.Fatalf("expire snapshots: %+v %v", d, err)
		}
		assertContentGone(ctx, t, dyn, snapRec.Snapshot.Content)
		if rec := volumeRecord(t, describeBackup(t, storage, "copy-2"), "copy-app", "data"); rec.Outcome != archive.VolumeCopied || rec.Snapshot != nil || rec.Copy == nil {
			t.Fatalf("after the expiry: %+v", rec)
		}
		if _, err := cairn(t, nil, append([]string{"restore", "create", "r-expired", "--from", "copy-2", "--storage", storage,
			"--namespace-mapping", "copy-app=copy-expired"}, moverFlags...)...); err != nil {
			t.Fatal(err)
		}
		if got := checksumIn(ctx, t, cluster, "copy-expired"); got != sum {
			t.Fatalf("checksum restored after the expiry %q, want %q", got, sum)
		}
		if res := describeRestore(t, storage, "r-expired"); len(res.Volumes) != 1 || res.Volumes[0].Source != restore.SourceCopy || len(res.Warnings) > 0 {
			t.Fatalf("volumes %+v, warnings %v", res.Volumes, res.Warnings)
		}
		assertNoMoverLeftovers(ctx, t, client)
		deleteNamespace(ctx, t, client, "copy-expired")
	})
	deleteNamespace(ctx, t, client, "copy-app")
}

// assertSettledVolume checks that a claim filled from a copy is bound to a volume that has its
// reclaim policy back and no mover label.
func assertSettledVolume(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string) {
	t.Helper()
	pvc, err := client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim %s/%s: %v %v", ns, name, pvc.Status.Phase, err)
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.Labels[mover.LabelMover] != "" {
		t.Fatalf("volume %s of %s/%s: reclaim policy %s, labels %v", pv.Name, ns, name, pv.Spec.PersistentVolumeReclaimPolicy, pv.Labels)
	}
}

// assertNoMoverLeftovers waits (up to a minute, for deletions in progress) until no object the data
// mover makes is left in the cluster.
func assertNoMoverLeftovers(ctx context.Context, t *testing.T, client kubernetes.Interface) {
	t.Helper()
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		left = moverLeftovers(ctx, t, client)
		return len(left) == 0, nil
	})
	if err != nil {
		t.Fatalf("the data mover left: %v", left)
	}
}

// moverLeftovers lists the objects labelled by the data mover.
func moverLeftovers(ctx context.Context, t *testing.T, client kubernetes.Interface) []string {
	sel := metav1.ListOptions{LabelSelector: mover.LabelMover}
	ns := trustgrant.DefaultNamespace
	var left []string
	add := func(kind string, names ...string) {
		for _, n := range names {
			left = append(left, kind+" "+n)
		}
	}
	if l, err := client.CoreV1().Pods(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			add("pod", o.Name)
		}
	}
	if l, err := client.CoreV1().PersistentVolumeClaims(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			add("claim", o.Name)
		}
	}
	if l, err := client.CoreV1().Secrets(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			add("secret", o.Name)
		}
	}
	if l, err := client.CoreV1().PersistentVolumes().List(ctx, sel); err == nil {
		for _, o := range l.Items {
			add("volume", o.Name)
		}
	}
	dyn := dynamicOf(t)
	if l, err := dyn.Resource(snapshot.SnapshotResource).Namespace(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			add("VolumeSnapshot", o.GetName())
		}
	}
	if l, err := dyn.Resource(snapshot.ContentResource).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			add("VolumeSnapshotContent", o.GetName())
		}
	}
	return left
}
