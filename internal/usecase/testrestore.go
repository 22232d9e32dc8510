package usecase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/restore"
)

// Names of a test restore's checks, in the order they run (docs/design/monitoring.md, "Automatic
// test restores"); the check commands are check-1, check-2...
const (
	CheckRestore   = "restore"
	CheckVolumes   = "volumes"
	CheckPodsReady = "pods-ready"
	CheckCleanup   = "cleanup"
)

// TestRestoreRequest is a test restore: a restore whose namespace mapping sends every namespace
// to a scratch one, the time its pods get to become Ready, and the commands to run in them.
type TestRestoreRequest struct {
	Restore      RestoreRequest
	ReadyTimeout time.Duration
	Checks       []TestCheck
	// Poll is how often the claims and pods are looked at (default 2 s).
	Poll time.Duration
}

// TestCheck is a command run, directly, in the restored pods of source namespace Namespace that
// Selector matches; exit 0 passes.
type TestCheck struct {
	Namespace, Selector, Container string
	Command                        []string
	Timeout                        time.Duration
}

// TestRestoreResult is what a test restore did and found.
type TestRestoreResult struct {
	Restore RestoreResult
	Checks  []Check
}

// Passed tells whether every check passed.
func (r TestRestoreResult) Passed() bool {
	return len(r.Checks) > 0 && !slices.ContainsFunc(r.Checks, func(c Check) bool { return !c.OK })
}

// TestRestore restores into the scratch namespaces, checks the restored objects, claims and
// pods and runs the check commands, then deletes the scratch namespaces whatever happened.
func (r *Runner) TestRestore(ctx context.Context, req TestRestoreRequest) (out TestRestoreResult, err error) {
	r = r.withDefaults()
	mapping := req.Restore.Restore.NamespaceMapping
	if len(mapping) == 0 {
		return out, errors.New("a test restore maps every namespace to a scratch one: its namespace mapping is empty")
	}
	scratch := make([]string, 0, len(mapping))
	for _, to := range mapping {
		scratch = append(scratch, to)
	}
	slices.Sort(scratch)
	client, err := kubernetes.NewForConfig(r.Config)
	if err != nil {
		return out, fmt.Errorf("create client: %w", err)
	}
	check := r.recorder("test restore", &out.Checks)
	defer func() {
		check(CheckCleanup, r.deleteScratch(ctx, client, scratch), "deleted the scratch namespaces "+strings.Join(scratch, ", "))
	}()

	got, restoreErr := r.Restore(ctx, req.Restore)
	out.Restore = got
	res := got.Result
	if res == nil {
		if restoreErr == nil {
			restoreErr = errors.New("the restore did not run")
		}
		check(CheckRestore, restoreErr, "")
		return out, nil
	}
	check(CheckRestore, restoreProblem(res, restoreErr), fmt.Sprintf("%d object(s) restored into %s", res.Counts.Created+res.Counts.Recreated+res.Counts.Patched,
		strings.Join(scratch, ", ")))

	poll := req.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	claims, pods := r.waitRestored(ctx, client, scratch, req.ReadyTimeout, poll)
	check(CheckVolumes, claims.err, claims.passed)
	check(CheckPodsReady, pods.err, pods.passed)
	exec, err := hooks.NewExecutor(r.Config, client)
	if err != nil {
		return out, err
	}
	for i, c := range req.Checks {
		msg, err := runTestCheck(ctx, client, exec, mapping, c)
		check(fmt.Sprintf("check-%d", i+1), err, msg)
	}
	return out, nil
}

// restoreProblem says what went wrong with a restore that ran, if anything did.
func restoreProblem(res *restore.Result, err error) error {
	var problems []string
	for _, it := range res.Items {
		if it.Action == restore.ActionFail {
			problems = append(problems, fmt.Sprintf("%s %s/%s: %s", it.Resource, it.Namespace, it.Name, it.Reason))
		}
	}
	for _, v := range res.Volumes {
		if v.Outcome == restore.VolumeFailed {
			problems = append(problems, fmt.Sprintf("volume of claim %s/%s: %s", v.Namespace, v.Claim, v.Reason))
		}
	}
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%d problem(s): %s", len(problems), humanize.First(problems))
}

// outcome is how one waited-for check ended.
type outcome struct {
	passed string
	err    error
}

// waitRestored waits, up to timeout, until every claim in the scratch namespaces is bound and
// every pod Ready (or Succeeded), and says how each ended.
func (r *Runner) waitRestored(ctx context.Context, client kubernetes.Interface, scratch []string, timeout, poll time.Duration) (claims, pods outcome) {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		var unbound, unready []string
		nClaims, nPods := 0, 0
		var listErr error
		for _, ns := range scratch {
			cl, err := client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				listErr = fmt.Errorf("list claims in %s: %w", ns, err)
				break
			}
			for _, c := range cl.Items {
				nClaims++
				if c.Status.Phase != corev1.ClaimBound {
					unbound = append(unbound, fmt.Sprintf("%s/%s (%s)", ns, c.Name, c.Status.Phase))
				}
			}
			pl, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				listErr = fmt.Errorf("list pods in %s: %w", ns, err)
				break
			}
			for _, p := range pl.Items {
				nPods++
				if !podDone(p) {
					unready = append(unready, fmt.Sprintf("%s/%s (%s)", ns, p.Name, podState(p)))
				}
			}
		}
		done := listErr == nil && len(unbound) == 0 && len(unready) == 0
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			claims = outcome{passed: fmt.Sprintf("%d claim(s) bound", nClaims)}
			pods = outcome{passed: fmt.Sprintf("%d pod(s) ready", nPods)}
			switch {
			case listErr != nil:
				claims.err, pods.err = listErr, listErr
			default:
				if len(unbound) > 0 {
					claims.err = fmt.Errorf("%d of %d claim(s) not bound after %s: %s", len(unbound), nClaims, humanize.Age(timeout), strings.Join(unbound, ", "))
				}
				if len(unready) > 0 {
					pods.err = fmt.Errorf("%d of %d pod(s) not ready after %s: %s", len(unready), nPods, humanize.Age(timeout), strings.Join(unready, ", "))
				}
			}
			if nPods == 0 && pods.err == nil {
				pods.passed = "no pod to wait for"
			}
			return claims, pods
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
}

// podDone tells whether a pod is Ready, or ran to completion.
func podDone(p corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podState is why a pod is not ready, as far as its status tells.
func podState(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason
		}
	}
	return string(p.Status.Phase)
}

// runTestCheck runs a check command in every running pod of its (mapped) namespace that its
// selector matches.
func runTestCheck(ctx context.Context, client kubernetes.Interface, exec hooks.Executor, mapping map[string]string, c TestCheck) (string, error) {
	ns, ok := mapping[c.Namespace]
	if !ok {
		return "", fmt.Errorf("namespace %s is not in the recovery point: nothing to run %q in", c.Namespace, strings.Join(c.Command, " "))
	}
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: c.Selector})
	if err != nil {
		return "", fmt.Errorf("list pods %q in %s: %w", c.Selector, ns, err)
	}
	var ran []string
	for _, p := range list.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		container := c.Container
		if container == "" && len(p.Spec.Containers) > 0 {
			container = p.Spec.Containers[0].Name
		}
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		var stdout, stderr bytes.Buffer
		code, err := exec.Exec(cctx, ns, p.Name, container, c.Command, &stdout, &stderr)
		cancel()
		switch {
		case err != nil:
			return "", fmt.Errorf("%q in pod %s/%s: %w", strings.Join(c.Command, " "), ns, p.Name, err)
		case code != 0:
			return "", fmt.Errorf("%q in pod %s/%s exited %d: %s", strings.Join(c.Command, " "), ns, p.Name, code,
				lastLine(stderr.String(), stdout.String()))
		}
		ran = append(ran, p.Name)
	}
	if len(ran) == 0 {
		return "", fmt.Errorf("no running pod in %s matches %q: nothing to run %q in", ns, c.Selector, strings.Join(c.Command, " "))
	}
	return fmt.Sprintf("%q exited 0 in %s", strings.Join(c.Command, " "), strings.Join(ran, ", ")), nil
}

// lastLine is the last non-empty line of the first text that has one.
func lastLine(texts ...string) string {
	for _, t := range texts {
		lines := strings.Split(strings.TrimSpace(t), "\n")
		if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
			return l
		}
	}
	return "(no output)"
}

// deleteScratch deletes the scratch namespaces, even when ctx ended (a cancelled test restore
// still cleans up), without waiting for their objects to go.
func (r *Runner) deleteScratch(ctx context.Context, client kubernetes.Interface, scratch []string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var errs []error
	for _, ns := range scratch {
		err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete scratch namespace %s: %w", ns, err))
		}
	}
	return errors.Join(errs...)
}
