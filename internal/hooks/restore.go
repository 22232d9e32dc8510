package hooks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/archive"
)

// pollInterval is how often the restore runner looks at pods it waits for.
const pollInterval = 250 * time.Millisecond

// creationSlack allows for creation timestamps' second granularity when telling restored pods
// from older ones.
const creationSlack = 2 * time.Second

// RestoreRunner runs restore post-hooks in restored pods.
type RestoreRunner struct {
	engine
	client kubernetes.Interface
	rules  []rule
	err    error // invalid hooks: Run reports it
}

// Expected describes pods a restore expects to appear: a pod it created (PodName set, Replicas
// 1), or the pods of a workload it created (Selector from the workload's spec.selector, Replicas
// its spec.replicas or 1; DaemonSets: 1). Namespace is the target namespace.
type Expected struct {
	Namespace string
	PodName   string
	Selector  labels.Selector
	Replicas  int
}

// NewRestoreRunner returns a runner for hooks (loaded with LoadRestoreHooks). now stamps the
// executions (nil: time.Now); log receives one line per execution (nil: discarded).
func NewRestoreRunner(client kubernetes.Interface, exec Executor, hooks []*v1alpha1.RestoreHook, now func() time.Time, log *slog.Logger) *RestoreRunner {
	r := &RestoreRunner{engine: newEngine(exec, now, log), client: client}
	var errs []error
	for _, h := range hooks {
		if err := ValidateRestoreHook(h); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, hr := range h.Spec.RestoreHook {
			ru, err := newRule(h.Namespace, h.Name, hr.Name, hr.IncludedNamespaces, hr.ExcludedNamespaces, hr.LabelSelector)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, ph := range hr.PostHooks {
				ru.post = append(ru.post, step{
					rule: ru.id, container: ph.Exec.Container, command: ph.Exec.Command,
					onError: orDefault(ph.Exec.OnError, defaultRestoreOnError),
					timeout: orDefault(ph.Exec.ExecTimeout.Duration, defaultExecTimeout),
					wait:    orDefault(ph.Exec.WaitTimeout.Duration, defaultWaitTimeout),
				})
			}
			r.rules = append(r.rules, ru)
		}
	}
	r.err = errors.Join(errs...)
	return r
}

// Run waits for the expected pods in namespaces the rules include, created at or after since,
// and runs the post-hooks of the rules that select them, up to 8 pods at a time. Each hook waits
// (up to its waitTimeout, counted from when the pod's hooks start) for its container to run and,
// if it has a readiness probe, be ready; one that never does is recorded as NotRun. Expected
// pods that never appear are warnings; err is non-nil only when an onError Fail hook failed (or
// ctx ended).
func (r *RestoreRunner) Run(ctx context.Context, expected []Expected, since time.Time) (execs []archive.HookExecution, warnings []string, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	start := time.Now()
	var waiting []*waiter
	for _, e := range expected {
		limit, ok := r.waitLimit(e.Namespace)
		switch {
		case !ok:
		case e.PodName == "" && e.Selector == nil:
			warnings = append(warnings, fmt.Sprintf("expected pods in %s have neither a name nor a selector: no restore hooks run for them", e.Namespace))
		default:
			waiting = append(waiting, &waiter{Expected: e, limit: limit, deadline: start.Add(limit)})
		}
	}
	var (
		mu         sync.Mutex
		results    = map[string]podResult{}
		dispatched = map[string]bool{}
		wg         sync.WaitGroup
		sem        = make(chan struct{}, maxParallelPods)
	)
	dispatch := func(pod *corev1.Pod) {
		key := pod.Namespace + "/" + pod.Name
		rules := selecting(r.rules, pod)
		if dispatched[key] || len(rules) == 0 {
			return
		}
		dispatched[key] = true
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res := r.runPod(ctx, pod, rules)
			mu.Lock()
			defer mu.Unlock()
			results[key] = res
		})
	}
	warnings = append(warnings, r.waitPods(ctx, waiting, since.Add(-creationSlack), dispatch)...)
	wg.Wait()
	ordered := make([]podResult, 0, len(results))
	for _, key := range slices.Sorted(maps.Keys(results)) {
		ordered = append(ordered, results[key])
	}
	execs, more, err := merge(ordered)
	warnings = append(warnings, more...)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("restore hooks interrupted: %w", ctx.Err())
	}
	return execs, warnings, err
}

// waitLimit returns the largest waitTimeout of the rules with post-hooks that include ns; false
// when none does.
func (r *RestoreRunner) waitLimit(ns string) (time.Duration, bool) {
	var limit time.Duration
	found := false
	for _, ru := range r.rules {
		if !ru.includes(ns) {
			continue
		}
		for _, s := range ru.post {
			limit, found = max(limit, s.wait), true
		}
	}
	return limit, found
}

// waiter is an Expected being waited for.
type waiter struct {
	Expected
	limit    time.Duration
	deadline time.Time
}

// match returns the restored, non-terminating pods of pods that w expects.
func (w *waiter) match(pods []corev1.Pod, cutoff time.Time) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.CreationTimestamp.Time.Before(cutoff) {
			continue
		}
		if (w.PodName != "" && p.Name == w.PodName) || (w.PodName == "" && w.Selector.Matches(labels.Set(p.Labels))) {
			out = append(out, p)
		}
	}
	return out
}

func (w *waiter) String() string {
	if w.PodName != "" {
		return fmt.Sprintf("pod %s/%s", w.Namespace, w.PodName)
	}
	return fmt.Sprintf("%d pod(s) matching %q in %s", w.Replicas, w.Selector.String(), w.Namespace)
}

// waitPods polls the namespaces of waiting until each waiter has its pods or its deadline passes,
// and hands the pods found to dispatch (in the calling goroutine). It returns warnings for the
// pods that did not appear.
func (r *RestoreRunner) waitPods(ctx context.Context, waiting []*waiter, cutoff time.Time, dispatch func(*corev1.Pod)) []string {
	var warnings []string
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for len(waiting) > 0 {
		pods := map[string][]corev1.Pod{}
		listErrs := map[string]error{}
		for _, w := range waiting {
			if _, done := pods[w.Namespace]; done || listErrs[w.Namespace] != nil {
				continue
			}
			list, err := r.client.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				listErrs[w.Namespace] = err
				continue
			}
			slices.SortFunc(list.Items, func(a, b corev1.Pod) int { return cmp.Compare(a.Name, b.Name) })
			pods[w.Namespace] = list.Items
		}
		now := time.Now()
		waiting = slices.DeleteFunc(waiting, func(w *waiter) bool {
			found := w.match(pods[w.Namespace], cutoff)
			if len(found) < w.Replicas && now.Before(w.deadline) {
				return false
			}
			if len(found) < w.Replicas {
				msg := fmt.Sprintf("expected %s, found %d after %s: restore hooks not run in the missing ones", w, len(found), w.limit)
				if err := listErrs[w.Namespace]; err != nil {
					msg += fmt.Sprintf(" (listing pods failed: %v)", err)
				}
				warnings = append(warnings, msg)
			}
			for _, p := range found {
				dispatch(p)
			}
			return true
		})
		if len(waiting) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			for _, w := range waiting {
				warnings = append(warnings, fmt.Sprintf("stopped waiting for %s: %v", w, ctx.Err()))
			}
			return warnings
		case <-ticker.C:
		}
	}
	return warnings
}
