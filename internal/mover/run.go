package mover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// runPod creates the pod and waits until it ends, returning its result. A pod that fails, or
// does not end within the timeout, is an error carrying its last state.
func (m *Mover) runPod(ctx context.Context, pod *corev1.Pod) (Result, error) {
	pods := m.client.CoreV1().Pods(pod.Namespace)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return Result{}, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	state := "not scheduled yet"
	var done *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, m.opts.Poll, m.opts.Timeout, true, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			state = err.Error()
			return false, nil
		}
		state = podState(p)
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			done = p
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return Result{}, fmt.Errorf("pod %s/%s did not finish within %s (last state: %s)", pod.Namespace, pod.Name, m.opts.Timeout, state)
		}
		return Result{}, fmt.Errorf("wait for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	msg := terminationMessage(done)
	if done.Status.Phase == corev1.PodFailed {
		if msg == "" {
			msg = state
		}
		return Result{}, fmt.Errorf("pod %s/%s failed: %s", pod.Namespace, pod.Name, strings.TrimSpace(msg))
	}
	return parseResult(msg)
}

func terminationMessage(p *corev1.Pod) string {
	for _, c := range p.Status.ContainerStatuses {
		if t := c.State.Terminated; t != nil {
			return t.Message
		}
	}
	return ""
}

// podState describes where a pod is, for an error: its phase, and why it waits.
func podState(p *corev1.Pod) string {
	s := string(p.Status.Phase)
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			s += ", " + string(c.Type) + ": " + c.Message
		}
	}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			s += ", container " + w.Reason
			if w.Message != "" {
				s += ": " + w.Message
			}
		}
	}
	return s
}

// cleanup deletes what a copy or fill made, even when its job was cancelled.
type cleanup []func(context.Context) error

func (c *cleanup) add(f func(context.Context) error) { *c = append(*c, f) }

// run deletes in reverse order of creation and joins the errors.
func (c cleanup) run(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		if err := c[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteClaimAndWait deletes a claim and waits (bounded) until it is gone, its pod's end included.
func (m *Mover) deleteClaimAndWait(ns, name string) func(context.Context) error {
	claims := m.client.CoreV1().PersistentVolumeClaims(ns)
	del := deleteFunc("claim", ns, name, claims.Delete)
	return func(ctx context.Context) error {
		if err := del(ctx); err != nil {
			return err
		}
		return m.waitClaimsGone(ctx, ns, []string{name}, claimGoneTimeout)
	}
}

// claimGoneTimeout bounds the wait for a deleted claim to go.
const claimGoneTimeout = 2 * time.Minute

// waitClaimsGone waits, at most timeout, until the named claims of namespace ns are gone.
func (m *Mover) waitClaimsGone(ctx context.Context, ns string, names []string, timeout time.Duration) error {
	claims := m.client.CoreV1().PersistentVolumeClaims(ns)
	left := names
	err := wait.PollUntilContextTimeout(ctx, m.opts.Poll, timeout, true, func(ctx context.Context) (bool, error) {
		var still []string
		for _, n := range left {
			if _, err := claims.Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				still = append(still, n)
			}
		}
		left = still
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("claims %v of namespace %s not gone after %s: %w", left, ns, timeout, err)
	}
	return nil
}

// deleteFunc deletes one object, ignoring that it is gone.
func deleteFunc(what, ns, name string, del func(context.Context, string, metav1.DeleteOptions) error) func(context.Context) error {
	return func(ctx context.Context) error {
		zero := int64(0)
		if err := del(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s/%s: %w", what, ns, name, err)
		}
		return nil
	}
}
