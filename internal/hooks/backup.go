package hooks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/archive"
)

// BackupRunner runs backup hooks around a backup: Pre before it, Post after it. It is not safe
// for concurrent use.
type BackupRunner struct {
	engine
	client kubernetes.Interface
	rules  []rule
	err    error // invalid hooks: Pre reports it
	// selected are the pods the last Pre chose, with the rules that select them; Post runs their
	// post-hooks.
	selected []target
}

// target is a pod and the rules that select it.
type target struct {
	pod   *corev1.Pod
	rules []rule
}

// NewBackupRunner returns a runner for hooks (loaded with LoadBackupHooks). now stamps the
// executions (nil: time.Now); log receives one line per execution (nil: discarded).
func NewBackupRunner(client kubernetes.Interface, exec Executor, hooks []*v1alpha1.BackupHook, now func() time.Time, log *slog.Logger) *BackupRunner {
	r := &BackupRunner{engine: newEngine(exec, now, log), client: client}
	var errs []error
	for _, h := range hooks {
		if err := ValidateBackupHook(h); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, hr := range h.Spec.BackupHook {
			ru, err := newRule(h.Namespace, h.Name, hr.Name, hr.IncludedNamespaces, hr.ExcludedNamespaces, hr.LabelSelector)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ru.pre = backupSteps(ru.id, hr.PreHooks)
			ru.post = backupSteps(ru.id, hr.PostHooks)
			r.rules = append(r.rules, ru)
		}
	}
	r.err = errors.Join(errs...)
	return r
}

func backupSteps(id string, hooks []v1alpha1.BackupResourceHook) []step {
	out := make([]step, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, step{
			rule: id, container: h.Exec.Container, command: h.Exec.Command,
			onError: orDefault(h.Exec.OnError, defaultBackupOnError),
			timeout: orDefault(h.Exec.Timeout.Duration, defaultBackupTimeout),
		})
	}
	return out
}

// Pre selects the Running pods of namespaces that the hooks' rules select and runs their
// pre-hooks: one pod's hooks in rule then hook order, up to 8 pods at a time. A selected pod
// that is not Running is skipped with a warning. When an onError Fail hook fails, no further
// pre-hook starts (running ones finish) and err says which failed; the caller aborts the backup
// and still calls Post.
func (r *BackupRunner) Pre(ctx context.Context, namespaces []string) (execs []archive.HookExecution, warnings []string, err error) {
	r.selected = nil
	if r.err != nil {
		return nil, nil, r.err
	}
	selected, warnings, err := r.selectPods(ctx, namespaces)
	if err != nil {
		return nil, warnings, err
	}
	r.selected = selected
	var aborted atomic.Bool
	results := make([]podResult, len(selected))
	forEachPod(len(selected), func(i int) {
		t := selected[i]
		for _, ru := range t.rules {
			for _, s := range ru.pre {
				if aborted.Load() || ctx.Err() != nil {
					return
				}
				x := r.run(ctx, "pre", t.pod, s)
				if results[i].add(x) && s.onError == v1alpha1.HookErrorFail {
					aborted.Store(true)
					return
				}
			}
		}
	})
	execs, more, err := merge(results)
	warnings = append(warnings, more...)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("backup pre-hooks interrupted: %w", ctx.Err())
	}
	return execs, warnings, err
}

// selectPods lists the pods of namespaces and returns the Running ones some rule selects, in
// namespace and name order.
func (r *BackupRunner) selectPods(ctx context.Context, namespaces []string) ([]target, []string, error) {
	var out []target
	var warnings []string
	namespaces = slices.Compact(slices.Sorted(slices.Values(namespaces)))
	for _, ns := range namespaces {
		if !slices.ContainsFunc(r.rules, func(ru rule) bool { return ru.includes(ns) }) {
			continue
		}
		list, err := r.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, warnings, fmt.Errorf("list pods in %s for backup hooks: %w", ns, err)
		}
		pods := list.Items
		slices.SortFunc(pods, func(a, b corev1.Pod) int { return cmp.Compare(a.Name, b.Name) })
		for i := range pods {
			pod := &pods[i]
			rules := selecting(r.rules, pod)
			if len(rules) == 0 {
				continue
			}
			if pod.Status.Phase != corev1.PodRunning {
				warnings = append(warnings, fmt.Sprintf("pod %s/%s is %s, not Running: backup hooks %s not run in it",
					pod.Namespace, pod.Name, orDefault(string(pod.Status.Phase), "without phase"), strings.Join(ruleIDs(rules), ", ")))
				continue
			}
			out = append(out, target{pod: pod, rules: rules})
		}
	}
	return out, warnings, nil
}

// Post runs the post-hooks of every pod the last Pre selected, whether or not its pre-hooks ran
// or failed, in rule and hook order per pod, up to 8 pods at a time. It runs them all, even when
// ctx is cancelled (each bounded by its timeout): a failed onError Fail hook makes err non-nil,
// a failed Continue one a warning.
func (r *BackupRunner) Post(ctx context.Context) (execs []archive.HookExecution, warnings []string, err error) {
	ctx = context.WithoutCancel(ctx)
	results := make([]podResult, len(r.selected))
	forEachPod(len(r.selected), func(i int) {
		t := r.selected[i]
		for _, ru := range t.rules {
			for _, s := range ru.post {
				results[i].add(r.run(ctx, "post", t.pod, s))
			}
		}
	})
	return merge(results)
}

func ruleIDs(rules []rule) []string {
	ids := make([]string, 0, len(rules))
	for _, ru := range rules {
		ids = append(ids, ru.id)
	}
	return ids
}
