package hooks

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/scope"
)

// Defaults, as Velero (backup) and AKS backup (restore) document them.
const (
	defaultBackupTimeout  = 30 * time.Second
	defaultBackupOnError  = v1alpha1.HookErrorFail
	defaultExecTimeout    = 30 * time.Second
	defaultWaitTimeout    = 5 * time.Minute
	defaultRestoreOnError = v1alpha1.HookErrorContinue
)

// maxParallelPods bounds how many pods run hooks at the same time.
const maxParallelPods = 8

// rule is a hook rule with its pod selection compiled and its hooks' defaults resolved.
type rule struct {
	id       string // "<objns>/<objname>/<rule name>"
	included []string
	excluded []string
	selector labels.Selector
	pre      []step
	post     []step
}

// step is one hook command with its defaults resolved.
type step struct {
	rule      string
	container string // as written; "" for the pod's first container
	command   []string
	onError   v1alpha1.HookErrorMode
	timeout   time.Duration
	wait      time.Duration // restore hooks: how long the container may take to run and be ready
}

func newRule(objNS, objName, name string, included, excluded []string, sel *metav1.LabelSelector) (rule, error) {
	r := rule{id: objNS + "/" + objName + "/" + name, included: included, excluded: excluded, selector: labels.Everything()}
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return rule{}, fmt.Errorf("hook %s: label selector: %w", r.id, err)
		}
		r.selector = s
	}
	return r, nil
}

// includes tells whether the rule runs in namespace ns.
func (r rule) includes(ns string) bool {
	if scope.MatchAny(r.excluded, ns) {
		return false
	}
	return len(r.included) == 0 || scope.MatchAny(r.included, ns)
}

// selects tells whether the rule runs in pod.
func (r rule) selects(pod *corev1.Pod) bool {
	return r.includes(pod.Namespace) && r.selector.Matches(labels.Set(pod.Labels))
}

// selecting returns the rules that select pod, in order.
func selecting(rules []rule, pod *corev1.Pod) []rule {
	var out []rule
	for _, r := range rules {
		if r.selects(pod) {
			out = append(out, r)
		}
	}
	return out
}

// containerFor resolves the container a hook runs in: the named one, or the pod's first.
func containerFor(pod *corev1.Pod, name string) (string, error) {
	if len(pod.Spec.Containers) == 0 {
		return name, fmt.Errorf("pod %s/%s has no containers", pod.Namespace, pod.Name)
	}
	if name == "" {
		return pod.Spec.Containers[0].Name, nil
	}
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return name, nil
		}
		names = append(names, c.Name)
	}
	return name, fmt.Errorf("pod %s/%s has no container %q (it has %s)", pod.Namespace, pod.Name, name, strings.Join(names, ", "))
}

// orDefault returns d unless it is zero.
func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}
