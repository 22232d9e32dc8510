package hooks

import (
	"errors"
	"fmt"
	"path"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/v1alpha1"
)

// ValidateBackupHook returns every problem of h, joined, each naming h and the field.
func ValidateBackupHook(h *v1alpha1.BackupHook) error {
	v := validator{object: "BackupHook " + h.Namespace + "/" + h.Name, names: map[string]string{}}
	for i, r := range h.Spec.BackupHook {
		p := fmt.Sprintf("spec.backupHook[%d]", i)
		v.rule(p, r.Name, r.IncludedNamespaces, r.ExcludedNamespaces, r.LabelSelector)
		for _, phase := range []struct {
			field string
			hooks []v1alpha1.BackupResourceHook
		}{{"preHooks", r.PreHooks}, {"postHooks", r.PostHooks}} {
			for j, hook := range phase.hooks {
				hp := fmt.Sprintf("%s.%s[%d].exec", p, phase.field, j)
				if hook.Exec == nil {
					v.add(hp, "missing: each hook needs an exec with a command")
					continue
				}
				v.exec(hp, hook.Exec.Command, hook.Exec.OnError)
				v.duration(hp+".timeout", hook.Exec.Timeout)
			}
		}
	}
	return v.err()
}

// ValidateRestoreHook returns every problem of h, joined, each naming h and the field.
func ValidateRestoreHook(h *v1alpha1.RestoreHook) error {
	v := validator{object: "RestoreHook " + h.Namespace + "/" + h.Name, names: map[string]string{}}
	for i, r := range h.Spec.RestoreHook {
		p := fmt.Sprintf("spec.restoreHook[%d]", i)
		v.rule(p, r.Name, r.IncludedNamespaces, r.ExcludedNamespaces, r.LabelSelector)
		for j, hook := range r.PostHooks {
			hp := fmt.Sprintf("%s.postHooks[%d].exec", p, j)
			if hook.Exec == nil {
				v.add(hp, "missing: each hook needs an exec with a command")
				continue
			}
			v.exec(hp, hook.Exec.Command, hook.Exec.OnError)
			v.duration(hp+".execTimeout", hook.Exec.ExecTimeout)
			v.duration(hp+".waitTimeout", hook.Exec.WaitTimeout)
		}
	}
	return v.err()
}

// validator collects the problems of one hook object.
type validator struct {
	object string
	names  map[string]string // rule name -> path of its first use
	errs   []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s %s", v.object, field, fmt.Sprintf(format, args...)))
}

func (v *validator) err() error { return errors.Join(v.errs...) }

func (v *validator) rule(p, name string, included, excluded []string, sel *metav1.LabelSelector) {
	switch first, dup := v.names[name]; {
	case name == "":
		v.add(p+".name", "missing: every hook rule needs a name")
	case dup:
		v.add(p+".name", "%q: duplicates %s.name; rule names must be unique", name, first)
	default:
		v.names[name] = p
	}
	for _, list := range []struct {
		field string
		globs []string
	}{{"includedNamespaces", included}, {"excludedNamespaces", excluded}} {
		for k, g := range list.globs {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				v.add(fmt.Sprintf("%s.%s[%d]", p, list.field, k), "%q: use namespace names with optional * and ? globs", g)
			}
		}
	}
	if sel != nil {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			v.add(p+".labelSelector", "invalid: %v", err)
		}
	}
}

func (v *validator) exec(p string, command []string, onError v1alpha1.HookErrorMode) {
	switch {
	case len(command) == 0:
		v.add(p+".command", "empty: give the program and its arguments, e.g. [/bin/sh, -c, \"sync\"]")
	case command[0] == "":
		v.add(p+".command[0]", "empty: the first element is the program to run")
	}
	switch onError {
	case "", v1alpha1.HookErrorContinue, v1alpha1.HookErrorFail:
	default:
		v.add(p+".onError", "%q: use Continue or Fail", onError)
	}
}

func (v *validator) duration(field string, d metav1.Duration) {
	if d.Duration < 0 {
		v.add(field, "%q: must not be negative", d.Duration.String())
	}
}
