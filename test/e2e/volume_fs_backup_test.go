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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// TestVolumeFSBackup backs up a hostPath volume, which cannot be snapshotted, through its files:
// its namespace is opted in, a pre-hook writes a marker into the volume and the post-hook removes
// it, so the marker in the copy shows the files were read inside the hook window. The namespace,
// the volume and the host directory's files then go, and the restore fills a new volume of the
// default class (the recorded class "manual" does not exist) from the copy.
func TestVolumeFSBackup(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	storage := "file://" + t.TempDir()
	image := agentImageIn(t, cluster)
	ensureNamespace(ctx, t, client, trustgrant.DefaultNamespace)
	const ns, pvName = "fs-app", "fs-app-data"
	hostDir := t.TempDir()

	createNamespace(ctx, t, client, ns)
	nsObj, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Annotations = map[string]string{snapshot.AnnotationFSBackup: "true"}
	if _, err := client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	createHostPathVolume(ctx, t, client, pvName, hostDir, ns, "data")
	t.Cleanup(func() {
		_ = client.CoreV1().PersistentVolumes().Delete(context.Background(), pvName, metav1.DeleteOptions{})
	})
	c := claim(ns, "data", "manual")
	c.Spec.VolumeName = pvName
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, writerPod(ns, "data"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sum := checksumIn(ctx, t, cluster, ns)
	applyYAML(t, `
apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: BackupHook
metadata: {name: freeze, namespace: fs-app}
spec:
  backupHook:
  - name: marker
    includedNamespaces: [fs-app]
    labelSelector: {matchLabels: {app: writer}}
    preHooks:
    - exec: {container: app, command: [touch, /data/frozen], onError: Fail, timeout: 10s}
    postHooks:
    - exec: {container: app, command: [rm, /data/frozen]}
`)

	out, err := cairn(t, nil, "backup", "create", "fs-1", "--storage", storage, "--include-namespaces", ns,
		"--volume-data", "copy", "--mover-image", image, "--backup-hook", ns+"/freeze")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1 copied, 0 copies failed") {
		t.Fatalf("backup output does not report the copy:\n%s", out)
	}
	rp := describeBackup(t, storage, "fs-1")
	rec := volumeRecord(t, rp, ns, "data")
	if rec.Outcome != archive.VolumeCopied || rec.Copy == nil || rec.Copy.Method != archive.CopyMethodFileSystem || rec.Snapshot != nil ||
		rec.Copy.Files != 3 || rec.Copy.Bytes < 4<<20 || !strings.Contains(rec.Reason, "hostPath") {
		t.Fatalf("file-system backup record: %+v copy %+v", rec, rec.Copy)
	}
	if rp.Result.Phase != archive.PhaseCompleted {
		t.Fatalf("phase %s; errors %v", rp.Result.Phase, rp.Result.Errors)
	}
	if fileIn(ctx, t, ns, "writer", "app", "/data/frozen") {
		t.Fatal("the post-hook did not remove the marker")
	}
	ls, err := cairn(t, nil, "files", "ls", "fs-1/"+ns+"/data", "--storage", storage)
	if err != nil || !strings.Contains(ls, "frozen") || !strings.Contains(ls, "blob.sha256") {
		t.Fatalf("files ls of the copy (the marker shows it was read between the hooks): %v\n%s", err, ls)
	}
	assertNoMoverLeftovers(ctx, t, client)

	// The disaster: the namespace, its volume and the files on the host are gone.
	deleteNamespace(ctx, t, client, ns)
	deleteVolume(ctx, t, client, pvName)
	entries, err := os.ReadDir(hostDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(hostDir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := cairn(t, nil, "restore", "create", "r-fs", "--from", "fs-1", "--storage", storage, "--mover-image", image); err != nil {
		t.Fatal(err)
	}
	if got := checksumIn(ctx, t, cluster, ns); got != sum {
		t.Fatalf("restored checksum %q, want %q", got, sum)
	}
	if !fileIn(ctx, t, ns, "writer", "app", "/data/frozen") {
		t.Fatal("the restored volume lacks the marker the pre-hook wrote")
	}
	res := describeRestore(t, storage, "r-fs")
	if len(res.Volumes) != 1 || res.Volumes[0].Outcome != restore.VolumeRestored || res.Volumes[0].Source != restore.SourceCopy {
		t.Fatalf("restore volumes: %+v", res.Volumes)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), `storage class "manual" does not exist`) {
		t.Fatalf("no warning about the missing class: %v", res.Warnings)
	}
	for _, it := range res.Items {
		if it.Resource == "persistentvolumes" && it.Name == pvName && it.Action != restore.ActionSkip {
			t.Fatalf("the hostPath volume was restored: %+v", it)
		}
	}
	assertSettledVolume(ctx, t, client, ns, "data")
	assertNoMoverLeftovers(ctx, t, client)
	deleteNamespace(ctx, t, client, ns)
}

// createHostPathVolume makes a Retain hostPath PersistentVolume of class "manual" (a class that
// does not exist), pre-bound to claim ns/claim.
func createHostPathVolume(ctx context.Context, t *testing.T, client kubernetes.Interface, name, dir, ns, claim string) {
	t.Helper()
	dirType := corev1.HostPathDirectory
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "manual",
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: claim},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirType}},
		},
	}
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func deleteVolume(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	if err := client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("volume %s not deleted: %v", name, err)
	}
}
