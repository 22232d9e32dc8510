//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// blockDevice is where the Block claim's device appears in the disk pod.
const blockDevice = "/dev/xvda"

// TestVolumeCopyBlock copies a Block-mode volume as a device image (copy mode: no snapshot kept),
// writes a little, copies again (only the changed chunks are stored), deletes the namespace and
// restores the device from its copy: every byte comes back, before the workload sees it.
func TestVolumeCopyBlock(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	storage := "file://" + t.TempDir()
	moverFlags := []string{"--mover-image", agentImageIn(t, cluster)}
	ensureNamespace(ctx, t, client, trustgrant.DefaultNamespace)
	const ns = "block-app"
	createNamespace(ctx, t, client, ns)
	c := claim(ns, "disk", localcluster.CSIStorageClass)
	c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("32Mi")
	block := corev1.PersistentVolumeBlock
	c.Spec.VolumeMode = &block
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, diskPod(ns, "disk"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := deviceChecksum(ctx, t, ns)

	backupBlock := func(name string) archive.VolumeRecord {
		t.Helper()
		if _, err := cairn(t, nil, append([]string{"backup", "create", name, "--storage", storage, "--include-namespaces", ns,
			"--volume-data", "copy"}, moverFlags...)...); err != nil {
			t.Fatal(err)
		}
		rp := describeBackup(t, storage, name)
		rec := volumeRecord(t, rp, ns, "disk")
		if rp.Result.Phase != archive.PhaseCompleted || rec.Outcome != archive.VolumeCopied || rec.Copy == nil ||
			rec.Copy.VolumeMode != string(corev1.PersistentVolumeBlock) || rec.Copy.Bytes != 32<<20 {
			t.Fatalf("%s: phase %s (errors %v), record %+v, copy %+v", name, rp.Result.Phase, rp.Result.Errors, rec, rec.Copy)
		}
		assertNoMoverLeftovers(ctx, t, client)
		return rec
	}
	backupBlock("block-1")
	if ls, err := cairn(t, nil, "files", "ls", "block-1/"+ns+"/disk", "--storage", storage); err != nil || !strings.Contains(ls, filerepo.DeviceImage) {
		t.Fatalf("files ls of the device's copy: %v\n%s", err, ls)
	}

	pod := waitRunningPod(ctx, t, client, ns, "app=disk")
	if _, stderr, code := execInPod(ctx, t, restConfigOf(t, cluster), client, pod, "app",
		[]string{"dd", "if=/dev/urandom", "of=" + blockDevice, "bs=65536", "seek=40", "count=1", "conv=notrunc,fsync"}); code != 0 {
		t.Fatalf("write to the device: %s", stderr)
	}
	second := deviceChecksum(ctx, t, ns)
	if second == first {
		t.Fatal("the write did not change the device")
	}
	rec := backupBlock("block-2")
	if rec.Copy.AddedBytes > 4<<20 {
		t.Fatalf("the second copy of a device with 64 KiB changed added %d bytes", rec.Copy.AddedBytes)
	}

	deleteNamespace(ctx, t, client, ns)
	if _, err := cairn(t, nil, append([]string{"restore", "create", "r-block", "--from", "block-2", "--storage", storage}, moverFlags...)...); err != nil {
		t.Fatal(err)
	}
	if got := deviceChecksum(ctx, t, ns); got != second {
		t.Fatalf("restored device checksum %q, want %q", got, second)
	}
	res := describeRestore(t, storage, "r-block")
	if len(res.Volumes) != 1 || res.Volumes[0].Outcome != restore.VolumeRestored || res.Volumes[0].Source != restore.SourceCopy {
		t.Fatalf("restore volumes: %+v", res.Volumes)
	}
	assertSettledVolume(ctx, t, client, ns, "disk")
	assertNoMoverLeftovers(ctx, t, client)
	deleteNamespace(ctx, t, client, ns)
}

// diskPod writes random data into its Block claim once (marked by CAIRN at offset 0) and sleeps.
func diskPod(ns, claim string) *corev1.Pod {
	zero := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "disk", Namespace: ns, Labels: map[string]string{"app": "disk"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name: "app", Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", `if [ "$(dd if=` + blockDevice + ` bs=5 count=1 2>/dev/null)" != CAIRN ]; then ` +
					`dd if=/dev/urandom of=` + blockDevice + ` bs=1048576 seek=1 count=8 conv=notrunc,fsync 2>/dev/null && ` +
					`printf CAIRN | dd of=` + blockDevice + ` conv=notrunc,fsync 2>/dev/null; fi; exec sleep 3600`},
				VolumeDevices: []corev1.VolumeDevice{{Name: "data", DevicePath: blockDevice}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
}

// deviceChecksum waits for the disk pod in ns to have written its data and returns the checksum
// of the device's first 16 MiB.
func deviceChecksum(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	client := clientOf(t, cluster)
	cfg := restConfigOf(t, cluster)
	pod := waitRunningPod(ctx, t, client, ns, "app=disk")
	var sum string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		out, _, code := execInPod(ctx, t, cfg, client, pod, "app", []string{"sh", "-c",
			`[ "$(dd if=` + blockDevice + ` bs=5 count=1 2>/dev/null)" = CAIRN ] && head -c 16777216 ` + blockDevice + ` | sha256sum`})
		sum = strings.TrimSpace(out)
		return code == 0 && sum != "", nil
	})
	if err != nil {
		t.Fatalf("no data on the device in %s: %v", ns, err)
	}
	return sum
}
