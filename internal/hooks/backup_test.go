package hooks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/archive"
)

func TestBackupSelection(t *testing.T) {
	web := map[string]string{"app": "web"}
	pending := pod("shop-a", "web-pending", web)
	pending.Status.Phase = corev1.PodPending
	client := clientset(
		pod("shop-a", "web-1", web), pod("shop-a", "db-1", map[string]string{"app": "db"}), pending,
		pod("shop-b", "web-2", web), pod("shop-test", "web-3", web), pod("other", "web-4", web),
	)
	h := backupHook("ops", "freeze", v1alpha1.BackupHookRule{
		Name:               "web",
		IncludedNamespaces: []string{"shop-*", "other"},
		ExcludedNamespaces: []string{"*-test"},
		LabelSelector:      &metav1.LabelSelector{MatchLabels: web},
		PreHooks:           []v1alpha1.BackupResourceHook{bexec("", 0, "fsfreeze", "-f")},
		PostHooks:          []v1alpha1.BackupResourceHook{bexec("", 0, "fsfreeze", "-u")},
	})
	ex := newFakeExec(nil)
	r := NewBackupRunner(client, ex, []*v1alpha1.BackupHook{h}, fixedNow, testLogger(t))
	// "other" is not among the backup's namespaces: its pods are not looked at.
	execs, warnings, err := r.Pre(t.Context(), []string{"shop-a", "shop-b", "shop-test", "shop-a"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"shop-a/web-1/app: fsfreeze -f", "shop-b/web-2/app: fsfreeze -f"}
	if got := ex.ran(); !slices.Equal(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "shop-a/web-pending is Pending") || !strings.Contains(warnings[0], "ops/freeze/web") {
		t.Fatalf("warnings %q, want one for the Pending pod", warnings)
	}
	x := execs[0]
	if len(execs) != 2 || x.Hook != "ops/freeze/web" || x.Phase != "pre" || x.Namespace != "shop-a" || x.Pod != "web-1" ||
		x.Container != "app" || x.OnError != "Fail" || !x.StartedAt.Equal(fixedNow()) || x.ExitCode != 0 || x.Outcome != archive.HookSucceeded {
		t.Fatalf("execs %+v", execs)
	}
	execs, warnings, err = r.Post(t.Context())
	if err != nil || len(warnings) != 0 || len(execs) != 2 || execs[1].Pod != "web-2" || execs[1].Phase != "post" {
		t.Fatalf("Post = %+v, %q, %v", execs, warnings, err)
	}
}

func TestBackupContainers(t *testing.T) {
	client := clientset(pod("ns", "p", nil, "first", "second"))
	h := backupHook("ns", "h", v1alpha1.BackupHookRule{
		Name: "r",
		PreHooks: []v1alpha1.BackupResourceHook{
			bexec(v1alpha1.HookErrorContinue, 0, "default"),
			{Exec: &v1alpha1.ExecHook{Container: "second", Command: []string{"named"}}},
			{Exec: &v1alpha1.ExecHook{Container: "sidecar", Command: []string{"missing"}, OnError: v1alpha1.HookErrorContinue}},
		},
	})
	ex := newFakeExec(nil)
	execs, warnings, err := NewBackupRunner(client, ex, []*v1alpha1.BackupHook{h}, fixedNow, nil).Pre(t.Context(), []string{"ns"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ex.ran(), []string{"ns/p/first: default", "ns/p/second: named"}; !slices.Equal(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	x := execs[2]
	if x.Container != "sidecar" || x.Outcome != archive.HookFailed || x.ExitCode != -1 ||
		x.Error != `pod ns/p has no container "sidecar" (it has first, second)` {
		t.Fatalf("missing container recorded as %+v", x)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "sidecar") {
		t.Fatalf("warnings %q", warnings)
	}
}

func TestBackupPreFailStopsAndPostRunsEverywhere(t *testing.T) {
	client := clientset(pod("ns", "a", nil), pod("ns", "b", nil))
	h := backupHook("ns", "h",
		v1alpha1.BackupHookRule{
			Name:               "freeze",
			LabelSelector:      &metav1.LabelSelector{},
			IncludedNamespaces: []string{"ns"},
			PreHooks:           []v1alpha1.BackupResourceHook{bexec("", 0, "one"), bexec("", 0, "two"), bexec("", 0, "three")},
			PostHooks:          []v1alpha1.BackupResourceHook{bexec("", 0, "thaw"), bexec(v1alpha1.HookErrorContinue, 0, "cleanup")},
		},
	)
	ex := newFakeExec(map[string]script{
		"two":     {code: 3, stderr: "first line\nfreeze failed: busy\n"},
		"cleanup": {err: errors.New("connection reset")},
	})
	r := NewBackupRunner(client, ex, []*v1alpha1.BackupHook{h}, fixedNow, nil)
	// Each pod runs one, then two, which fails: three never starts.
	execs, _, err := r.Pre(t.Context(), []string{"ns"})
	if err == nil {
		t.Fatal("Pre succeeded, want the Fail hook's error")
	}
	for _, want := range []string{"pre-hook ns/h/freeze", "pod ns/", "container app", `["two"]`, "exited with code 3: freeze failed: busy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	for _, c := range ex.ran() {
		if strings.HasSuffix(c, ": three") {
			t.Errorf("ran %q after a Fail hook failed", c)
		}
	}
	for _, x := range execs {
		if x.Outcome == archive.HookFailed && (x.ExitCode != 3 || !strings.Contains(x.Stderr, "busy")) {
			t.Errorf("failed execution %+v", x)
		}
	}
	ex.calls = nil
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Post runs even when the backup was cancelled
	execs, warnings, err := r.Post(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ns/a/app: cleanup", "ns/a/app: thaw", "ns/b/app: cleanup", "ns/b/app: thaw"}
	if got := ex.ran(); !slices.Equal(got, want) {
		t.Fatalf("Post ran %q, want %q", got, want)
	}
	if len(execs) != 4 || execs[0].Pod != "a" || execs[0].Command[0] != "thaw" || execs[1].Command[0] != "cleanup" {
		t.Fatalf("Post execs not in pod, rule, hook order: %+v", execs)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "connection reset") || !strings.Contains(warnings[0], "onError Continue") {
		t.Fatalf("warnings %q", warnings)
	}
}

func TestBackupPostFailIsErrorButRunsAll(t *testing.T) {
	client := clientset(pod("ns", "a", nil))
	h := backupHook("ns", "h", v1alpha1.BackupHookRule{
		Name:      "r",
		PostHooks: []v1alpha1.BackupResourceHook{bexec("", 0, "thaw"), bexec("", 0, "after")},
	})
	ex := newFakeExec(map[string]script{"thaw": {code: 1}})
	r := NewBackupRunner(client, ex, []*v1alpha1.BackupHook{h}, fixedNow, nil)
	if _, _, err := r.Pre(t.Context(), []string{"ns"}); err != nil {
		t.Fatal(err)
	}
	execs, _, err := r.Post(t.Context())
	if err == nil || !strings.Contains(err.Error(), "post-hook ns/h/r") || len(execs) != 2 || execs[1].Outcome != archive.HookSucceeded {
		t.Fatalf("Post = %+v, %v; want both run and an error", execs, err)
	}
}

func TestBackupTimeout(t *testing.T) {
	client := clientset(pod("ns", "a", nil))
	h := backupHook("ns", "h", v1alpha1.BackupHookRule{
		Name:     "r",
		PreHooks: []v1alpha1.BackupResourceHook{bexec("", 50*time.Millisecond, "hang"), bexec("", 0, "next")},
	})
	ex := newFakeExec(map[string]script{"hang": {block: true, stdout: "started\n"}})
	start := time.Now()
	execs, _, err := NewBackupRunner(client, ex, []*v1alpha1.BackupHook{h}, nil, nil).Pre(t.Context(), []string{"ns"})
	if time.Since(start) > 5*time.Second {
		t.Fatalf("Pre took %s", time.Since(start))
	}
	if err == nil || !strings.Contains(err.Error(), "did not finish within 50ms") {
		t.Fatalf("error = %v", err)
	}
	x := execs[0]
	if len(execs) != 1 || x.Outcome != archive.HookTimedOut || x.ExitCode != -1 || x.Error != "did not finish within 50ms" ||
		x.Stdout != "started\n" || x.DurationSeconds < 0.05 {
		t.Fatalf("execs %+v", execs)
	}
}

func TestBackupDefaults(t *testing.T) {
	h := backupHook("ns", "h", v1alpha1.BackupHookRule{Name: "r", PreHooks: []v1alpha1.BackupResourceHook{bexec("", 0, "x")}})
	s := NewBackupRunner(clientset(), newFakeExec(nil), []*v1alpha1.BackupHook{h}, nil, nil).rules[0].pre[0]
	if s.timeout != 30*time.Second || s.onError != v1alpha1.HookErrorFail || s.container != "" {
		t.Fatalf("defaults %+v", s)
	}
}

func TestBackupInvalidHooks(t *testing.T) {
	h := backupHook("ns", "h", v1alpha1.BackupHookRule{PreHooks: []v1alpha1.BackupResourceHook{bexec("", 0, "x")}})
	ex := newFakeExec(nil)
	r := NewBackupRunner(clientset(pod("ns", "a", nil)), ex, []*v1alpha1.BackupHook{h}, nil, nil)
	if _, _, err := r.Pre(t.Context(), []string{"ns"}); err == nil || !strings.Contains(err.Error(), "name missing") {
		t.Fatalf("Pre error = %v, want the validation error", err)
	}
	if execs, _, err := r.Post(t.Context()); len(execs) != 0 || err != nil || len(ex.ran()) != 0 {
		t.Fatalf("Post ran something: %+v, %v", execs, err)
	}
}

func TestTail(t *testing.T) {
	var tl tail
	_, _ = tl.Write([]byte(strings.Repeat("a", 5000)))
	_, _ = tl.Write([]byte("é!")) // 3 bytes; the cut lands inside nothing
	s := tl.String()
	if len(s) != outputLimit || !strings.HasSuffix(s, "é!") {
		t.Fatalf("tail kept %d bytes ending %q", len(s), s[len(s)-4:])
	}
	var cut tail
	_, _ = cut.Write([]byte(strings.Repeat("é", 3000))) // 6000 bytes: the cut may split a character
	if got := cut.String(); !strings.HasPrefix(got, "é") || len(got) > outputLimit {
		t.Fatalf("tail starts %q, %d bytes", got[:4], len(got))
	}
}

func TestBackupPreFailStopsOtherPods(t *testing.T) {
	client := clientset(pod("ns", "a", map[string]string{"app": "a"}), pod("ns", "b", map[string]string{"app": "b"}))
	h := backupHook("ns", "h",
		v1alpha1.BackupHookRule{
			Name:          "a",
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}},
			PreHooks:      []v1alpha1.BackupResourceHook{bexec("", 0, "fail")},
		},
		v1alpha1.BackupHookRule{
			Name:          "b",
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "b"}},
			PreHooks:      []v1alpha1.BackupResourceHook{bexec("", 0, "slow"), bexec("", 0, "never")},
			PostHooks:     []v1alpha1.BackupResourceHook{bexec("", 0, "thaw")},
		},
	)
	ex := newFakeExec(map[string]script{"fail": {code: 1}, "slow": {delay: 300 * time.Millisecond}})
	r := NewBackupRunner(client, ex, []*v1alpha1.BackupHook{h}, fixedNow, nil)
	execs, _, err := r.Pre(t.Context(), []string{"ns"})
	if err == nil {
		t.Fatal("Pre succeeded")
	}
	// Pod b's first hook may or may not have started when pod a's failed; if it did, it
	// finishes; the next one never starts.
	ran := ex.ran()
	if slices.Contains(ran, "ns/b/app: never") || len(execs) != len(ran) {
		t.Fatalf("ran %q, execs %+v", ran, execs)
	}
	if len(execs) == 2 && execs[1].Outcome != archive.HookSucceeded {
		t.Fatalf("the running hook did not finish: %+v", execs[1])
	}
	if execs, _, err := r.Post(t.Context()); err != nil || len(execs) != 1 || execs[0].Pod != "b" {
		t.Fatalf("Post = %+v, %v", execs, err)
	}
}
