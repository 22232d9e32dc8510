package hooks

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/v1alpha1"
)

func validBackupHook() *v1alpha1.BackupHook {
	return backupHook("default", "bkphookname0", v1alpha1.BackupHookRule{
		Name:               "hook1",
		IncludedNamespaces: []string{"hrweb", "app-*"},
		LabelSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		PreHooks:           []v1alpha1.BackupResourceHook{bexec("", 0, "/bin/uname", "-a"), bexec(v1alpha1.HookErrorFail, time.Second, "sync")},
		PostHooks:          []v1alpha1.BackupResourceHook{bexec(v1alpha1.HookErrorContinue, 0, "true")},
	})
}

func TestValidateBackupHook(t *testing.T) {
	if err := ValidateBackupHook(validBackupHook()); err != nil {
		t.Fatalf("valid hook: %v", err)
	}
	const obj = "BackupHook default/bkphookname0: "
	for _, tc := range []struct {
		name   string
		mutate func(h *v1alpha1.BackupHook)
		want   string
	}{
		{"onError", func(h *v1alpha1.BackupHook) { h.Spec.BackupHook[0].PreHooks[1].Exec.OnError = "Sometimes" },
			obj + `spec.backupHook[0].preHooks[1].exec.onError "Sometimes": use Continue or Fail`},
		{"no name", func(h *v1alpha1.BackupHook) { h.Spec.BackupHook[0].Name = "" },
			obj + "spec.backupHook[0].name missing"},
		{"duplicate name", func(h *v1alpha1.BackupHook) {
			h.Spec.BackupHook = append(h.Spec.BackupHook, h.Spec.BackupHook[0])
		}, obj + `spec.backupHook[1].name "hook1": duplicates spec.backupHook[0].name`},
		{"no exec", func(h *v1alpha1.BackupHook) { h.Spec.BackupHook[0].PostHooks[0].Exec = nil },
			obj + "spec.backupHook[0].postHooks[0].exec missing"},
		{"empty command", func(h *v1alpha1.BackupHook) { h.Spec.BackupHook[0].PreHooks[0].Exec.Command = nil },
			obj + "spec.backupHook[0].preHooks[0].exec.command empty"},
		{"empty program", func(h *v1alpha1.BackupHook) { h.Spec.BackupHook[0].PreHooks[0].Exec.Command = []string{"", "x"} },
			obj + "spec.backupHook[0].preHooks[0].exec.command[0] empty"},
		{"negative timeout", func(h *v1alpha1.BackupHook) {
			h.Spec.BackupHook[0].PreHooks[1].Exec.Timeout = metav1.Duration{Duration: -time.Second}
		}, obj + `spec.backupHook[0].preHooks[1].exec.timeout "-1s": must not be negative`},
		{"selector", func(h *v1alpha1.BackupHook) {
			h.Spec.BackupHook[0].LabelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
		}, obj + "spec.backupHook[0].labelSelector invalid"},
		{"included glob", func(h *v1alpha1.BackupHook) { h.Spec.BackupHook[0].IncludedNamespaces = []string{"ok", "bad["} },
			obj + `spec.backupHook[0].includedNamespaces[1] "bad[": use namespace names`},
		{"excluded glob", func(h *v1alpha1.BackupHook) { h.Spec.BackupHook[0].ExcludedNamespaces = []string{""} },
			obj + `spec.backupHook[0].excludedNamespaces[0] "": use namespace names`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := validBackupHook()
			tc.mutate(h)
			err := ValidateBackupHook(h)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateJoinsAllProblems(t *testing.T) {
	h := validBackupHook()
	h.Spec.BackupHook[0].PreHooks[0].Exec.OnError = "Maybe"
	h.Spec.BackupHook[0].PostHooks[0].Exec.Command = nil
	err := ValidateBackupHook(h)
	if err == nil || strings.Count(err.Error(), "\n") != 1 ||
		!strings.Contains(err.Error(), "preHooks[0].exec.onError") || !strings.Contains(err.Error(), "postHooks[0].exec.command") {
		t.Fatalf("error = %v, want both problems on their own lines", err)
	}
}

func TestValidateRestoreHook(t *testing.T) {
	valid := func() *v1alpha1.RestoreHook {
		return restoreHook("default", "rh", v1alpha1.RestoreHookRule{
			Name:      "r1",
			PostHooks: []v1alpha1.RestoreResourceHook{rexec("", "", 0, "true")},
		})
	}
	if err := ValidateRestoreHook(valid()); err != nil {
		t.Fatalf("valid hook: %v", err)
	}
	const obj = "RestoreHook default/rh: "
	for _, tc := range []struct {
		name   string
		mutate func(h *v1alpha1.RestoreHook)
		want   string
	}{
		{"onError", func(h *v1alpha1.RestoreHook) { h.Spec.RestoreHook[0].PostHooks[0].Exec.OnError = "fail" },
			obj + `spec.restoreHook[0].postHooks[0].exec.onError "fail": use Continue or Fail`},
		{"no name", func(h *v1alpha1.RestoreHook) { h.Spec.RestoreHook[0].Name = "" }, obj + "spec.restoreHook[0].name missing"},
		{"duplicate name", func(h *v1alpha1.RestoreHook) {
			h.Spec.RestoreHook = append(h.Spec.RestoreHook, h.Spec.RestoreHook[0])
		}, obj + `spec.restoreHook[1].name "r1": duplicates`},
		{"no exec", func(h *v1alpha1.RestoreHook) { h.Spec.RestoreHook[0].PostHooks[0].Exec = nil },
			obj + "spec.restoreHook[0].postHooks[0].exec missing"},
		{"empty command", func(h *v1alpha1.RestoreHook) { h.Spec.RestoreHook[0].PostHooks[0].Exec.Command = []string{} },
			obj + "spec.restoreHook[0].postHooks[0].exec.command empty"},
		{"negative execTimeout", func(h *v1alpha1.RestoreHook) {
			h.Spec.RestoreHook[0].PostHooks[0].Exec.ExecTimeout = metav1.Duration{Duration: -time.Minute}
		}, obj + `spec.restoreHook[0].postHooks[0].exec.execTimeout "-1m0s": must not be negative`},
		{"negative waitTimeout", func(h *v1alpha1.RestoreHook) {
			h.Spec.RestoreHook[0].PostHooks[0].Exec.WaitTimeout = metav1.Duration{Duration: -time.Minute}
		}, obj + `spec.restoreHook[0].postHooks[0].exec.waitTimeout "-1m0s": must not be negative`},
		{"selector", func(h *v1alpha1.RestoreHook) {
			h.Spec.RestoreHook[0].LabelSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"a b": "c"}}
		}, obj + "spec.restoreHook[0].labelSelector invalid"},
		{"glob", func(h *v1alpha1.RestoreHook) { h.Spec.RestoreHook[0].ExcludedNamespaces = []string{"[x"} },
			obj + `spec.restoreHook[0].excludedNamespaces[0] "[x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := valid()
			tc.mutate(h)
			err := ValidateRestoreHook(h)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
