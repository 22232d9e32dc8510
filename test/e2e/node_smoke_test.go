//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

// TestDeploymentPodRunsAndExecWorks proves the node is real: the controller-manager makes a Pod of
// a Deployment, the scheduler places it, containerd runs it, and exec through the apiserver and
// the kubelet returns the command's output and exit code.
func TestDeploymentPodRunsAndExecWorks(t *testing.T) {
	ctx := t.Context()
	cfg, err := cluster.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	createNamespace(ctx, t, client, "smoke")
	labels := map[string]string{"app": "smoke"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: "smoke"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: new(int64(1)),
					Containers: []corev1.Container{{
						Name:            "app",
						Image:           localcluster.BusyboxImage,
						ImagePullPolicy: corev1.PullNever,
						Command:         []string{"sh", "-c", "echo ready > /tmp/state; exec sleep 3600"},
					}},
				},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("smoke").Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := waitRunningPod(ctx, t, client, "smoke", "app=smoke")
	t.Logf("pod %s is Running on %s with IP %s", pod.Name, pod.Spec.NodeName, pod.Status.PodIP)

	stdout, stderr, code := execInPod(ctx, t, cfg, client, pod, "app", []string{"cat", "/tmp/state"})
	if code != 0 || stdout != "ready\n" || stderr != "" {
		t.Fatalf("exec cat: code=%d stdout=%q stderr=%q", code, stdout, stderr)
	}
	stdout, stderr, code = execInPod(ctx, t, cfg, client, pod, "app", []string{"sh", "-c", "echo out; echo err >&2; exit 7"})
	if code != 7 || stdout != "out\n" || stderr != "err\n" {
		t.Fatalf("exec exit 7: code=%d stdout=%q stderr=%q", code, stdout, stderr)
	}
}

func waitRunningPod(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, selector string) corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		if len(pods.Items) == 0 {
			last = "no pod yet"
			return false, nil
		}
		pod = pods.Items[0]
		last = string(pod.Status.Phase)
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.State.Waiting != nil {
				last += " waiting: " + cs.State.Waiting.Reason + " " + cs.State.Waiting.Message
			}
		}
		return pod.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		t.Fatalf("pod of %s in %s not Running: %v (last: %s)", selector, ns, err, last)
	}
	return pod
}

// execInPod runs command in the container directly (no shell unless the command is one) and returns
// its output and exit code.
func execInPod(ctx context.Context, t *testing.T, cfg *rest.Config, client kubernetes.Interface, pod corev1.Pod, container string, command []string) (string, string, int) {
	t.Helper()
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	exec, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	code := 0
	if err != nil {
		var exitErr utilexec.CodeExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("exec %s in %s/%s: %v", strings.Join(command, " "), pod.Namespace, pod.Name, err)
		}
		code = exitErr.Code
	}
	return stdout.String(), stderr.String(), code
}
