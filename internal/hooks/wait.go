package hooks

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/archive"
)

// runPod runs the post-hooks of rules in a restored pod, in order, each once its container is
// ready for it. An onError Fail hook that fails or does not run stops the pod's remaining hooks.
func (r *RestoreRunner) runPod(ctx context.Context, pod *corev1.Pod, rules []rule) podResult {
	var res podResult
	start := time.Now()
	for _, ru := range rules {
		for _, s := range ru.post {
			x := r.runStep(ctx, pod, s, start)
			if res.add(x) && s.onError == v1alpha1.HookErrorFail {
				return res
			}
		}
	}
	return res
}

// runStep waits for the container of s (up to its waitTimeout from start) and runs s.
func (r *RestoreRunner) runStep(ctx context.Context, pod *corev1.Pod, s step, start time.Time) archive.HookExecution {
	container, err := containerFor(pod, s.container)
	if err != nil {
		return r.run(ctx, "post", pod, s) // records the missing container as a failure
	}
	pod, why := r.waitContainer(ctx, pod, container, start.Add(s.wait), s.wait)
	if why != "" {
		return r.notRun(ctx, "post", pod, s, container, why)
	}
	return r.run(ctx, "post", pod, s)
}

// waitContainer polls pod until container runs (and is ready, if it has a readiness probe) or
// deadline passes. It returns the latest pod and, when the container did not get there, why.
func (r *RestoreRunner) waitContainer(ctx context.Context, pod *corev1.Pod, container string, deadline time.Time, limit time.Duration) (*corev1.Pod, string) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		ready, state := containerState(pod, container)
		if ready {
			return pod, ""
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			return pod, fmt.Sprintf("pod is %s: container %q will not run again (last state: %s)", pod.Status.Phase, container, state)
		}
		select {
		case <-ctx.Done():
			return pod, fmt.Sprintf("stopped waiting for container %q (last state: %s): %v", container, state, ctx.Err())
		case <-timer.C:
			return pod, fmt.Sprintf("container %q was not running and ready after %s (last state: %s)", container, limit, state)
		case <-ticker.C:
		}
		fresh, err := r.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return pod, fmt.Sprintf("pod was deleted while waiting for container %q (last state: %s)", container, state)
		case err == nil:
			pod = fresh
		}
	}
}

// containerState tells whether container is running and, if it has a readiness probe, ready;
// otherwise it describes its state, with the waiting reason (ContainerCreating,
// CrashLoopBackOff, ...).
func containerState(pod *corev1.Pod, container string) (bool, string) {
	probed := false
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			probed = c.ReadinessProbe != nil
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		switch st := cs.State; {
		case st.Running != nil && (cs.Ready || !probed):
			return true, "running"
		case st.Running != nil:
			return false, "running, not ready"
		case st.Waiting != nil:
			return false, "waiting, reason " + orDefault(st.Waiting.Reason, "unknown")
		case st.Terminated != nil:
			return false, fmt.Sprintf("terminated, reason %s, exit code %d", orDefault(st.Terminated.Reason, "unknown"), st.Terminated.ExitCode)
		}
	}
	return false, fmt.Sprintf("no container status yet, pod %s", orDefault(string(pod.Status.Phase), "without phase"))
}
