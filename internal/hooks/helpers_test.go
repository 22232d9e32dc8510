package hooks

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/api/v1alpha1"
)

// call is one Exec the fake executor received.
type call struct {
	namespace, pod, container string
	command                   []string
	at                        time.Time
}

// script says how the fake executor answers a command.
type script struct {
	code           int
	err            error
	delay          time.Duration
	block          bool // until ctx is done
	stdout, stderr string
}

// fakeExec records calls and answers them by script, keyed by the joined command.
type fakeExec struct {
	mu      sync.Mutex
	calls   []call
	scripts map[string]script
}

func newFakeExec(scripts map[string]script) *fakeExec {
	return &fakeExec{scripts: scripts}
}

func (f *fakeExec) Exec(ctx context.Context, namespace, pod, container string, command []string, stdout, stderr io.Writer) (int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{namespace: namespace, pod: pod, container: container, command: command, at: time.Now()})
	sc := f.scripts[strings.Join(command, " ")]
	f.mu.Unlock()
	_, _ = io.WriteString(stdout, sc.stdout)
	_, _ = io.WriteString(stderr, sc.stderr)
	if sc.block {
		<-ctx.Done()
		return -1, ctx.Err()
	}
	if sc.delay > 0 {
		select {
		case <-time.After(sc.delay):
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
	return sc.code, sc.err
}

// ran returns the calls as "ns/pod/container: command", sorted.
func (f *fakeExec) ran() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.namespace+"/"+c.pod+"/"+c.container+": "+strings.Join(c.command, " "))
	}
	slices.Sort(out)
	return out
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fixedNow is the injected clock of the runners under test.
func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// pod returns a Running pod created now whose containers run (without readiness probes).
func pod(ns, name string, lbls map[string]string, containers ...string) *corev1.Pod {
	if len(containers) == 0 {
		containers = []string{"app"}
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls, CreationTimestamp: metav1.Now()},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "busybox"})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		})
	}
	return p
}

func clientset(objs ...runtime.Object) *fake.Clientset {
	return fake.NewClientset(objs...)
}

func backupHook(ns, name string, rules ...v1alpha1.BackupHookRule) *v1alpha1.BackupHook {
	return &v1alpha1.BackupHook{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.BackupHookSpec{BackupHook: rules},
	}
}

func restoreHook(ns, name string, rules ...v1alpha1.RestoreHookRule) *v1alpha1.RestoreHook {
	return &v1alpha1.RestoreHook{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.RestoreHookSpec{RestoreHook: rules},
	}
}

// bexec is a backup hook running command, with optional onError and timeout.
func bexec(onError v1alpha1.HookErrorMode, timeout time.Duration, command ...string) v1alpha1.BackupResourceHook {
	return v1alpha1.BackupResourceHook{Exec: &v1alpha1.ExecHook{Command: command, OnError: onError, Timeout: metav1.Duration{Duration: timeout}}}
}

// rexec is a restore hook running command in container, with optional onError and wait timeout.
func rexec(container string, onError v1alpha1.HookErrorMode, wait time.Duration, command ...string) v1alpha1.RestoreResourceHook {
	return v1alpha1.RestoreResourceHook{Exec: &v1alpha1.RestoreExecHook{
		Container: container, Command: command, OnError: onError, WaitTimeout: metav1.Duration{Duration: wait},
	}}
}
