// Command volumes measures cairn's volume snapshots on a local cluster with the real CSI stack:
// N claims holding M MiB each are snapshotted by `cairn backup create` and restored by `cairn
// restore create`, beside the same work done by hand with kubectl in the same run (VolumeSnapshots
// applied and waited for; claims from them applied and waited for). With -copy (default) it then
// measures the copy tier beside a raw read of the same volumes. It prints Markdown tables.
//
//	go run ./bench/volumes -claims 20 -mib 100
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/restore"
)

func main() {
	claims := flag.Int("claims", 20, "persistent volume claims")
	mib := flag.Int("mib", 100, "MiB written into each claim")
	cairnBin := flag.String("cairn", "bin/cairn", "the cairn binary to measure")
	copies := flag.Bool("copy", true, "also measure the copy tier (copy, restore from the copy, incremental copy) beside a raw read")
	flag.Parse()
	if err := run(context.Background(), *claims, *mib, *cairnBin, *copies, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	client  kubernetes.Interface
	kubectl string
	cairn   string
	kcfg    string
	repo    string
	claims  int
}

func run(ctx context.Context, claims, mib int, cairnBin string, copies bool, out io.Writer) error {
	bin, err := harness.CairnBinary(cairnBin)
	if err != nil {
		return err
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "bench-volumes", Binaries: bins, CSI: true, Logger: log})
	if err != nil {
		return err
	}
	defer func() { _ = c.Stop(context.Background()) }()
	client, err := c.Client()
	if err != nil {
		return err
	}
	repo, err := os.MkdirTemp("", "cairn-bench-volumes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(repo)
	b := &bench{client: client, kubectl: bins.Kube("kubectl"), cairn: bin, kcfg: c.State.Kubeconfig, repo: repo, claims: claims}

	fmt.Fprintf(os.Stderr, "writing %d MiB into each of %d claims\n", mib, claims)
	if err := b.fill(ctx, mib); err != nil {
		return err
	}

	cairnBackup, err := b.timed(func() error {
		_, err := b.run(b.cairn, "backup", "create", "vols", "--storage", "file://"+b.repo, "--include-namespaces", "app", "--kubeconfig", b.kcfg)
		return err
	})
	if err != nil {
		return fmt.Errorf("cairn backup: %w", err)
	}
	slowest, err := b.slowestSnapshot()
	if err != nil {
		return err
	}
	cairnRestore, err := b.timed(func() error {
		_, err := b.run(b.cairn, "restore", "create", "vols-r", "--from", "vols", "--storage", "file://"+b.repo,
			"--include-namespaces", "app", "--namespace-mapping", "app=app-restored", "--include-resources", "persistentvolumeclaims",
			"--kubeconfig", b.kcfg)
		return err
	})
	if err != nil {
		return fmt.Errorf("cairn restore: %w", err)
	}
	readyMax, boundMax, err := b.slowestRestore()
	if err != nil {
		return err
	}

	handSnap, err := b.timed(b.handSnapshots)
	if err != nil {
		return fmt.Errorf("kubectl snapshots: %w", err)
	}
	handRestore, err := b.timed(b.handRestore)
	if err != nil {
		return fmt.Errorf("kubectl restore: %w", err)
	}
	fmt.Fprintf(out, "\n%d claims x %d MiB, CSI test driver (directory copies), one run\n\n", claims, mib)
	fmt.Fprintln(out, "| step | by hand (kubectl apply + wait) | cairn | ratio |")
	fmt.Fprintln(out, "|---|---|---|---|")
	fmt.Fprintf(out, "| all snapshots ready | %s | %s (whole backup; slowest snapshot %s) | %.2f |\n",
		sec(handSnap), sec(cairnBackup), sec(slowest), cairnBackup.Seconds()/handSnap.Seconds())
	fmt.Fprintf(out, "| all restored claims bound | %s | %s (whole restore; slowest snapshot ready %s, slowest claim bound %s) | %.2f |\n",
		sec(handRestore), sec(cairnRestore), sec(readyMax), sec(boundMax), cairnRestore.Seconds()/handRestore.Seconds())
	if !copies {
		return nil
	}
	return b.copyFigures(ctx, c, mib, out)
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func (b *bench) timed(fn func() error) (time.Duration, error) {
	began := time.Now()
	err := fn()
	return time.Since(began), err
}

func (b *bench) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "CAIRN_PASSPHRASE=bench", "KUBECONFIG="+b.kcfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.String())
	}
	return out, nil
}

// fill creates the claims in namespace app and one pod that writes mib MiB of random data into
// each, and waits until it is done; the pod is then deleted so the data stays still.
func (b *bench) fill(ctx context.Context, mib int) error {
	const ns = "app"
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	class := localcluster.CSIStorageClass
	script := ""
	for i := range b.claims {
		name := fmt.Sprintf("data-%02d", i)
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(fmt.Sprintf("%dMi", 2*mib))}},
		}}
		if _, err := b.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
			return err
		}
		script += fmt.Sprintf("dd if=/dev/urandom of=/%s/blob bs=1048576 count=%d 2>/dev/null && ", name, mib)
	}
	if err := b.runPod(ctx, "filler", script+"sync"); err != nil {
		return fmt.Errorf("fill the claims: %w", err)
	}
	return nil
}

// runPod runs a busybox pod with every claim of the namespace app mounted at /data-NN, waits
// until it succeeded, and deletes it.
func (b *bench) runPod(ctx context.Context, name, script string) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever}}
	var mounts []corev1.VolumeMount
	for i := range b.claims {
		claim := fmt.Sprintf("data-%02d", i)
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: claim, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
		mounts = append(mounts, corev1.VolumeMount{Name: claim, MountPath: "/" + claim})
	}
	pod.Spec.Containers = []corev1.Container{{Name: "run", Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
		Command: []string{"sh", "-c", script}, VolumeMounts: mounts}}
	pods := b.client.CoreV1().Pods("app")
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return err
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("pod %s failed", name)
		}
		return p.Status.Phase == corev1.PodSucceeded, nil
	})
	zero := int64(0)
	_ = pods.Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	return err
}

// handSnapshots is what a person does with kubectl: apply one VolumeSnapshot per claim and wait
// until all are ready to use.
func (b *bench) handSnapshots() error {
	var doc strings.Builder
	for i := range b.claims {
		fmt.Fprintf(&doc, "---\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: hand-%02d, namespace: app}\n"+
			"spec: {volumeSnapshotClassName: %s, source: {persistentVolumeClaimName: data-%02d}}\n", i, localcluster.CSISnapshotClass, i)
	}
	if err := b.apply(doc.String()); err != nil {
		return err
	}
	_, err := b.run(b.kubectl, "wait", "-n", "app", "--for=jsonpath={.status.readyToUse}=true", "volumesnapshot", "--all", "--timeout=10m")
	return err
}

// handRestore applies one claim per hand-made snapshot (a claim can only name a VolumeSnapshot in
// its own namespace, so next to the originals) and waits until all are bound.
func (b *bench) handRestore() error {
	var doc strings.Builder
	for i := range b.claims {
		fmt.Fprintf(&doc, "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: hand-restored-%02d, namespace: app, labels: {hand: \"1\"}}\n"+
			"spec: {storageClassName: %s, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, "+
			"dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: hand-%02d}}\n", i, localcluster.CSIStorageClass, i)
	}
	if err := b.apply(doc.String()); err != nil {
		return err
	}
	_, err := b.run(b.kubectl, "wait", "-n", "app", "--for=jsonpath={.status.phase}=Bound", "pvc", "-l", "hand=1", "--timeout=10m")
	return err
}

func (b *bench) apply(doc string) error {
	cmd := exec.Command(b.kubectl, "apply", "-f", "-")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kcfg)
	cmd.Stdin = strings.NewReader(doc)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply: %w: %s", err, out)
	}
	return nil
}

// slowestRestore reads the restore's volume results for the longest times to ready and to bound.
func (b *bench) slowestRestore() (time.Duration, time.Duration, error) {
	out, err := b.run(b.cairn, "restore", "describe", "vols-r", "--storage", "file://"+b.repo, "-o", "json")
	if err != nil {
		return 0, 0, err
	}
	var res restore.Result
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, 0, fmt.Errorf("decode restore: %w", err)
	}
	var ready, bound float64
	for _, v := range res.Volumes {
		if v.Outcome != restore.VolumeRestored {
			return 0, 0, fmt.Errorf("claim %s: %s %s", v.Claim, v.Outcome, v.Reason)
		}
		ready, bound = max(ready, v.ReadySeconds), max(bound, v.BoundSeconds)
	}
	return time.Duration(ready * float64(time.Second)), time.Duration(bound * float64(time.Second)), nil
}

// slowestSnapshot reads the backup's volume records for the longest time to ready.
func (b *bench) slowestSnapshot() (time.Duration, error) {
	out, err := b.run(b.cairn, "backup", "describe", "vols", "--storage", "file://"+b.repo, "-o", "json")
	if err != nil {
		return 0, err
	}
	var rp archive.RecoveryPoint
	if err := json.Unmarshal(out, &rp); err != nil {
		return 0, fmt.Errorf("decode backup: %w", err)
	}
	var slowest float64
	n := 0
	for _, v := range rp.Volumes {
		if v.Snapshot != nil {
			n++
			slowest = max(slowest, v.Snapshot.ReadySeconds)
		}
	}
	if n != b.claims {
		return 0, fmt.Errorf("backup snapshotted %d of %d claims", n, b.claims)
	}
	return time.Duration(slowest * float64(time.Second)), nil
}
