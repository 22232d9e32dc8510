package hooks

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/archive"
)

// restoreRule is a rule in namespace "app" with the given post-hooks.
func restoreRule(hooks ...v1alpha1.RestoreResourceHook) v1alpha1.RestoreHookRule {
	return v1alpha1.RestoreHookRule{Name: "r", IncludedNamespaces: []string{"app"}, PostHooks: hooks}
}

func TestRestoreDefaults(t *testing.T) {
	h := restoreHook("ns", "h", restoreRule(rexec("", "", 0, "x")))
	s := NewRestoreRunner(clientset(), newFakeExec(nil), []*v1alpha1.RestoreHook{h}, nil, nil).rules[0].post[0]
	if s.timeout != 30*time.Second || s.wait != 5*time.Minute || s.onError != v1alpha1.HookErrorContinue {
		t.Fatalf("defaults %+v", s)
	}
}

func TestRestoreWaitsForPodThatAppearsLater(t *testing.T) {
	client := clientset()
	h := restoreHook("ops", "warm", restoreRule(rexec("", "", 5*time.Second, "warm-cache")))
	ex := newFakeExec(nil)
	r := NewRestoreRunner(client, ex, []*v1alpha1.RestoreHook{h}, fixedNow, testLogger(t))
	since := time.Now()
	created := make(chan time.Time, 1)
	go func() {
		time.Sleep(400 * time.Millisecond)
		created <- time.Now()
		for i, name := range []string{"web-1", "web-2"} {
			p := pod("app", name, map[string]string{"app": "web"})
			if i == 0 {
				p.Labels = map[string]string{"app": "other"}
			}
			if _, err := client.CoreV1().Pods("app").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}
	}()
	sel := labels.SelectorFromSet(labels.Set{"app": "web"})
	execs, warnings, err := r.Run(t.Context(), []Expected{
		{Namespace: "app", Selector: sel, Replicas: 1},
		{Namespace: "elsewhere", PodName: "ignored", Replicas: 1}, // no rule includes it: not waited for
	}, since)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Run: %v, warnings %q", err, warnings)
	}
	at := <-created
	if len(execs) != 1 || execs[0].Pod != "web-2" || execs[0].Outcome != archive.HookSucceeded || execs[0].Hook != "ops/warm/r" ||
		execs[0].Phase != "post" || execs[0].OnError != "Continue" || ex.calls[0].at.Before(at) {
		t.Fatalf("execs %+v", execs)
	}
}

func TestRestoreWaitsForReadiness(t *testing.T) {
	p := pod("app", "db-0", nil, "db", "sidecar")
	p.Spec.Containers[1].ReadinessProbe = &corev1.Probe{}
	p.Status.ContainerStatuses[1].Ready = false
	client := clientset(p)
	h := restoreHook("ops", "h", restoreRule(rexec("sidecar", "", 5*time.Second, "migrate")))
	ex := newFakeExec(nil)
	r := NewRestoreRunner(client, ex, []*v1alpha1.RestoreHook{h}, fixedNow, nil)
	readyAt := make(chan time.Time, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		ready := p.DeepCopy()
		ready.Status.ContainerStatuses[1].Ready = true
		readyAt <- time.Now()
		if _, err := client.CoreV1().Pods("app").UpdateStatus(context.Background(), ready, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	execs, _, err := r.Run(t.Context(), []Expected{{Namespace: "app", PodName: "db-0", Replicas: 1}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	at := <-readyAt
	if len(execs) != 1 || execs[0].Outcome != archive.HookSucceeded || execs[0].Container != "sidecar" || ex.calls[0].at.Before(at) {
		t.Fatalf("execs %+v, ran at %v, ready at %v", execs, ex.calls, at)
	}
}

func TestRestoreContainerNeverReady(t *testing.T) {
	p := pod("app", "web-0", nil)
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	for _, tc := range []struct {
		onError v1alpha1.HookErrorMode
		wantErr bool
	}{{"", false}, {v1alpha1.HookErrorFail, true}} {
		t.Run(string(tc.onError), func(t *testing.T) {
			h := restoreHook("ops", "h", restoreRule(
				rexec("", tc.onError, 300*time.Millisecond, "first"),
				rexec("", "", 300*time.Millisecond, "second"),
			))
			ex := newFakeExec(nil)
			r := NewRestoreRunner(clientset(p), ex, []*v1alpha1.RestoreHook{h}, fixedNow, nil)
			start := time.Now()
			execs, warnings, err := r.Run(t.Context(), []Expected{{Namespace: "app", PodName: "web-0", Replicas: 1}}, time.Now())
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("Run took %s", d)
			}
			if (err != nil) != tc.wantErr || len(ex.ran()) != 0 {
				t.Fatalf("err = %v, ran %q", err, ex.ran())
			}
			x := execs[0]
			if x.Outcome != archive.HookNotRun || x.ExitCode != -1 || x.Container != "app" ||
				!strings.Contains(x.Error, `container "app" was not running and ready after 300ms`) || !strings.Contains(x.Error, "CrashLoopBackOff") {
				t.Fatalf("execution %+v", x)
			}
			// The second hook's wait counts from when the pod's hooks started: it is already over.
			if tc.wantErr && len(execs) != 1 || !tc.wantErr && (len(execs) != 2 || len(warnings) != 2) {
				t.Fatalf("execs %+v, warnings %q", execs, warnings)
			}
		})
	}
}

func TestRestoreExpectedPodsMissing(t *testing.T) {
	old := pod("app", "web-old", map[string]string{"app": "web"})
	old.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
	terminating := pod("app", "web-going", map[string]string{"app": "web"})
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	terminating.Finalizers = []string{"x"}
	h := restoreHook("ops", "h", restoreRule(rexec("", "", 300*time.Millisecond, "x")))
	ex := newFakeExec(nil)
	r := NewRestoreRunner(clientset(old, terminating), ex, []*v1alpha1.RestoreHook{h}, fixedNow, nil)
	start := time.Now()
	execs, warnings, err := r.Run(t.Context(), []Expected{
		{Namespace: "app", Selector: labels.SelectorFromSet(labels.Set{"app": "web"}), Replicas: 2},
		{Namespace: "app", PodName: "ghost", Replicas: 1},
	}, start)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Run took %s", d)
	}
	if err != nil || len(execs) != 0 || len(ex.ran()) != 0 || len(warnings) != 2 ||
		!strings.Contains(warnings[0], `expected 2 pod(s) matching "app=web" in app, found 0 after 300ms`) ||
		!strings.Contains(warnings[1], "expected pod app/ghost, found 0") {
		t.Fatalf("Run = %+v, %q, %v", execs, warnings, err)
	}
}

func TestRestoreMissingContainerAndTimeout(t *testing.T) {
	h := restoreHook("ops", "h", restoreRule(
		rexec("nope", "", time.Second, "x"),
		v1alpha1.RestoreResourceHook{Exec: &v1alpha1.RestoreExecHook{
			Command: []string{"hang"}, OnError: v1alpha1.HookErrorFail, ExecTimeout: metav1.Duration{Duration: 50 * time.Millisecond},
		}},
	))
	ex := newFakeExec(map[string]script{"hang": {block: true}})
	r := NewRestoreRunner(clientset(pod("app", "p", nil)), ex, []*v1alpha1.RestoreHook{h}, fixedNow, nil)
	execs, warnings, err := r.Run(t.Context(), []Expected{{Namespace: "app", PodName: "p", Replicas: 1}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "did not finish within 50ms") || len(warnings) != 1 || len(execs) != 2 {
		t.Fatalf("Run = %+v, %q, %v", execs, warnings, err)
	}
	if execs[0].Outcome != archive.HookFailed || !strings.Contains(execs[0].Error, `no container "nope"`) || execs[1].Outcome != archive.HookTimedOut {
		t.Fatalf("execs %+v", execs)
	}
}

func TestRestoreCancelled(t *testing.T) {
	h := restoreHook("ops", "h", restoreRule(rexec("", "", time.Minute, "x")))
	r := NewRestoreRunner(clientset(), newFakeExec(nil), []*v1alpha1.RestoreHook{h}, fixedNow, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, warnings, err := r.Run(ctx, []Expected{{Namespace: "app", PodName: "p", Replicas: 1}}, time.Now())
	if err == nil || len(warnings) != 1 || !strings.Contains(warnings[0], "stopped waiting for pod app/p") {
		t.Fatalf("Run = %q, %v", warnings, err)
	}
}
