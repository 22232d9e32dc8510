//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/restore"
)

const passphrase = "e2e volume tests"

// cairn runs the CLI in-process against the shared cluster (or the one named by a --kubeconfig in
// args) and returns its stdout and error.
func cairn(t *testing.T, now func() time.Time, args ...string) (string, error) {
	t.Helper()
	return runCairn(t.Context(), t, now, args...)
}

// cairnContext is cairn under ctx, which a test may cancel.
func cairnContext(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCairn(ctx, t, nil, args...)
}

func runCairn(ctx context.Context, t *testing.T, now func() time.Time, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := cli.Env{Stdout: &out, Stderr: &errOut, Now: now, Getenv: func(k string) string {
		if k == "CAIRN_PASSPHRASE" {
			return passphrase
		}
		return ""
	}}
	root := cli.NewRootCommand(env)
	if !strings.Contains(strings.Join(args, " "), "--kubeconfig") {
		args = append(args, "--kubeconfig", cluster.State.Kubeconfig)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	t.Logf("cairn %s\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
	return out.String(), err
}

// writerPod writes 4 MiB of random data and its checksum into the claim when the volume holds none,
// then sleeps: a pod restored onto a restored volume finds the data and leaves it alone.
func writerPod(ns, claim string) *corev1.Pod {
	zero := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "writer", Namespace: ns, Labels: map[string]string{"app": "writer"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name: "app", Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", "if [ ! -f /data/blob.sha256 ]; then dd if=/dev/urandom of=/data/blob bs=1048576 count=4 2>/dev/null && " +
					"sha256sum /data/blob > /data/blob.sha256; fi; exec sleep 3600"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
}

func claim(ns, name, class string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Mi")}},
		},
	}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

// deployWriter creates namespace ns with a CSI claim "data" and the writer pod, and returns the
// checksum line of the data it wrote.
func deployWriter(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	client := clientOf(t, cluster)
	createNamespace(ctx, t, client, ns)
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim(ns, "data", localcluster.CSIStorageClass), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, writerPod(ns, "data"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return checksumIn(ctx, t, cluster, ns)
}

// checksumIn waits for the writer pod in ns and returns the checksum file it finds, after checking
// that the data still matches it.
func checksumIn(ctx context.Context, t *testing.T, c *localcluster.Cluster, ns string) string {
	t.Helper()
	client := clientOf(t, c)
	cfg := restConfigOf(t, c)
	pod := waitRunningPod(ctx, t, client, ns, "app=writer")
	var sum string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		out, _, code := execInPod(ctx, t, cfg, client, pod, "app", []string{"cat", "/data/blob.sha256"})
		sum = strings.TrimSpace(out)
		return code == 0 && sum != "", nil
	})
	if err != nil {
		t.Fatalf("no checksum in %s: %v", ns, err)
	}
	out, stderr, code := execInPod(ctx, t, cfg, client, pod, "app", []string{"sha256sum", "-c", "/data/blob.sha256"})
	if code != 0 {
		t.Fatalf("data in %s does not match its checksum: %s %s", ns, out, stderr)
	}
	return sum
}

func deleteNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("namespace %s not deleted: %v", ns, err)
	}
}

func clientOf(t *testing.T, c *localcluster.Cluster) kubernetes.Interface {
	t.Helper()
	client, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func restConfigOf(t *testing.T, c *localcluster.Cluster) *rest.Config {
	t.Helper()
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func describeBackup(t *testing.T, storage, name string) archive.RecoveryPoint {
	t.Helper()
	out, err := cairn(t, nil, "backup", "describe", name, "--storage", storage, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rp archive.RecoveryPoint
	if err := json.Unmarshal([]byte(out), &rp); err != nil {
		t.Fatalf("describe output: %v", err)
	}
	return rp
}

func describeRestore(t *testing.T, storage, name string) restore.Result {
	t.Helper()
	out, err := cairn(t, nil, "restore", "describe", name, "--storage", storage, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res restore.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("describe output: %v", err)
	}
	return res
}

func volumeRecord(t *testing.T, rp archive.RecoveryPoint, ns, claim string) archive.VolumeRecord {
	t.Helper()
	for _, v := range rp.Volumes {
		if v.Namespace == ns && v.Claim == claim {
			return v
		}
	}
	t.Fatalf("backup %s has no volume record for %s/%s: %+v", rp.Name, ns, claim, rp.Volumes)
	return archive.VolumeRecord{}
}
