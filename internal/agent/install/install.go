package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// FieldManager owns the fields an install applies (server-side apply).
const FieldManager = "cairn-agent-install"

// ConfigHashAnnotation on the pod template changes when the token, passphrases or storage
// credentials do, so that an install with new ones restarts the agent.
const ConfigHashAnnotation = "cairn.dev/config-hash"

// waitingFailures are container waiting reasons that do not go away by waiting: the install fails
// at once instead of at its timeout.
var waitingFailures = map[string]bool{
	"ErrImageNeverPull": true, "InvalidImageName": true, "CreateContainerConfigError": true,
	"CreateContainerError": true, "CrashLoopBackOff": true,
}

// Install creates or updates (server-side apply) the trust grant, the CRDs the binary carries, the
// agent's Secrets and its Deployment, then waits until the Deployment is available, for at most
// opts.Timeout. It is idempotent; the full grant over a backup-only install deletes the latter's
// Role in the agent's namespace, and the restore grant, if applied, stays. On failure it says why
// the agent's pod does not run: its waiting reason, its last exit and the last lines it wrote.
func Install(ctx context.Context, cfg *rest.Config, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	objs, err := build(opts)
	if err != nil {
		return err
	}
	c, err := newClients(cfg)
	if err != nil {
		return err
	}
	out := opts.Out

	if err := c.applyNamespace(ctx, objs.Grant[0].(*corev1.Namespace), out); err != nil {
		return err
	}
	names, err := crds.Install(ctx, cfg)
	for _, n := range names {
		fmt.Fprintf(out, "applied CustomResourceDefinition %s\n", n)
	}
	if err != nil {
		return fmt.Errorf("install the CRDs: %w", err)
	}
	objs.Deployment.Spec.Template.Annotations = map[string]string{ConfigHashAnnotation: configHash(objs)}
	for _, obj := range objs.All() {
		switch o := obj.(type) {
		case *corev1.Namespace:
			continue // applied above
		case *corev1.Secret:
			obj = withData(o)
		}
		if err := c.apply(ctx, obj, out); err != nil {
			return err
		}
	}
	// Secrets an earlier install made and this one has no values for are removed: the agent must
	// not keep credentials the operator took away.
	for _, stale := range []struct {
		name string
		keep bool
	}{{SecretsSecret, objs.SecretsSecret != nil}, {StorageSecret, objs.StorageSecret != nil}} {
		if stale.keep {
			continue
		}
		err := c.kube.CoreV1().Secrets(opts.Namespace).Delete(ctx, stale.name, metav1.DeleteOptions{})
		switch {
		case err == nil:
			fmt.Fprintf(out, "deleted Secret %s/%s (no values given)\n", opts.Namespace, stale.name)
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("delete Secret %s/%s: %w", opts.Namespace, stale.name, err)
		}
	}
	if opts.Grant != trustgrant.GrantBackupOnly {
		if err := c.deleteOwnNamespaceRole(ctx, opts.Namespace, out); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "waiting up to %s for Deployment %s/%s to be available\n", opts.Timeout, opts.Namespace, trustgrant.AgentName)
	return c.waitAvailable(ctx, opts.Namespace, opts.Timeout)
}

// deleteOwnNamespaceRole deletes the Role and RoleBinding of a backup-only install, made by cairn,
// from the namespace: an install with the full grant over one leaves no rule it does not apply.
func (c clients) deleteOwnNamespaceRole(ctx context.Context, ns string, out io.Writer) error {
	rbac := c.kube.RbacV1()
	binding, err := rbac.RoleBindings(ns).Get(ctx, trustgrant.AgentName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read RoleBinding %s/%s: %w", ns, trustgrant.AgentName, err)
	case binding.Labels[trustgrant.LabelManaged] == trustgrant.ManagedBy:
		if err := deleted(out, "RoleBinding "+ns+"/"+trustgrant.AgentName+" (of the backup-only grant)",
			rbac.RoleBindings(ns).Delete(ctx, trustgrant.AgentName, metav1.DeleteOptions{})); err != nil {
			return err
		}
	}
	role, err := rbac.Roles(ns).Get(ctx, trustgrant.AgentName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read Role %s/%s: %w", ns, trustgrant.AgentName, err)
	case role.Labels[trustgrant.LabelManaged] != trustgrant.ManagedBy:
		return nil
	}
	return deleted(out, "Role "+ns+"/"+trustgrant.AgentName+" (of the backup-only grant)",
		rbac.Roles(ns).Delete(ctx, trustgrant.AgentName, metav1.DeleteOptions{}))
}

// clients are what Install and Uninstall use.
type clients struct {
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

func newClients(cfg *rest.Config) (clients, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return clients{}, fmt.Errorf("create client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return clients{}, fmt.Errorf("create client: %w", err)
	}
	return clients{kube: kube, dyn: dyn}, nil
}

// resources maps the kinds an install applies to their resources, and whether they are namespaced.
var resources = map[string]struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}{
	"Namespace":          {schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
	"ServiceAccount":     {schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true},
	"Secret":             {schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true},
	"ClusterRole":        {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false},
	"ClusterRoleBinding": {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, false},
	"Role":               {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, true},
	"RoleBinding":        {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, true},
	"Deployment":         {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
}

// apply server-side-applies one object, taking over fields others set (Force): the install is
// the source of truth of these objects.
func (c clients) apply(ctx context.Context, obj runtime.Object, out io.Writer) error {
	us, err := trustgrant.ToUnstructured([]runtime.Object{obj})
	if err != nil {
		return err
	}
	u := us[0]
	r, ok := resources[u.GetKind()]
	if !ok {
		return fmt.Errorf("install applies no %s", u.GetKind())
	}
	var ri dynamic.ResourceInterface = c.dyn.Resource(r.gvr)
	where := u.GetName()
	if r.namespaced {
		ri = c.dyn.Resource(r.gvr).Namespace(u.GetNamespace())
		where = u.GetNamespace() + "/" + u.GetName()
	}
	if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("apply %s %s: %w", u.GetKind(), where, err)
	}
	fmt.Fprintf(out, "applied %s %s\n", u.GetKind(), where)
	return nil
}

// applyNamespace applies the namespace unless it exists and the install did not make it: a
// namespace the user made (with their own labels, quotas, pod security) is left alone, and
// uninstall will not delete it.
func (c clients) applyNamespace(ctx context.Context, ns *corev1.Namespace, out io.Writer) error {
	live, err := c.kube.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read namespace %s: %w", ns.Name, err)
	case live.Labels[trustgrant.LabelManaged] != trustgrant.ManagedBy:
		fmt.Fprintf(out, "namespace %s exists and was not made by cairn: left as it is\n", ns.Name)
		return nil
	case live.DeletionTimestamp != nil:
		return fmt.Errorf("namespace %s is being deleted (an uninstall is not finished): wait until it is gone and install again", ns.Name)
	}
	return c.apply(ctx, ns, out)
}

// withData moves a Secret's StringData into Data: server-side apply then owns each key, and a key
// left out of a later install is removed.
func withData(s *corev1.Secret) *corev1.Secret {
	c := s.DeepCopy()
	if c.Data == nil && len(c.StringData) > 0 {
		c.Data = map[string][]byte{}
	}
	for k, v := range c.StringData {
		c.Data[k] = []byte(v)
	}
	c.StringData = nil
	return c
}

// configHash digests the Secrets' contents.
func configHash(o Objects) string {
	h := sha256.New()
	for _, s := range []*corev1.Secret{o.TokenSecret, o.SecretsSecret, o.StorageSecret} {
		if s == nil {
			continue
		}
		s = withData(s)
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(h, "%s\x00", s.Name)
		for _, k := range keys {
			fmt.Fprintf(h, "%s\x00%d\x00", k, len(s.Data[k]))
			h.Write(s.Data[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// errNotAvailable is what waitAvailable wraps.
var errNotAvailable = errors.New("the agent is not available")

// waitAvailable waits until the agent's Deployment has its one up-to-date replica available. It
// returns early when the pod cannot start (a bad image, a crash loop, a refused pod).
func (c clients) waitAvailable(ctx context.Context, ns string, timeout time.Duration) error {
	var failure string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		d, err := c.kube.AppsV1().Deployments(ns).Get(ctx, trustgrant.AgentName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if available(d) {
			return true, nil
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue {
				failure = fmt.Sprintf("Deployment: %s: %s", cond.Reason, cond.Message)
				return false, errNotAvailable
			}
		}
		pods, err := c.agentPods(ctx, ns)
		if err != nil {
			return false, nil
		}
		for _, p := range pods {
			for _, cs := range p.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil && waitingFailures[w.Reason] {
					return false, errNotAvailable
				}
			}
		}
		return false, nil
	})
	if err == nil {
		return nil
	}
	diag := c.diagnose(context.WithoutCancel(ctx), ns)
	if failure != "" {
		diag = append([]string{failure}, diag...)
	}
	reason := fmt.Sprintf("not available within %s", timeout)
	if errors.Is(err, errNotAvailable) {
		reason = "cannot start"
	}
	return fmt.Errorf("%w: Deployment %s/%s %s:\n  %s\n(see kubectl -n %s describe pod -l %s=%s, and its logs)",
		errNotAvailable, ns, trustgrant.AgentName, reason, strings.Join(diag, "\n  "), ns, trustgrant.LabelName, trustgrant.AgentName)
}

// available tells whether the Deployment's single, current replica is available.
func available(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}

func (c clients) agentPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: trustgrant.LabelName + "=" + trustgrant.AgentName})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// diagnose describes why the agent's pods are not available.
func (c clients) diagnose(ctx context.Context, ns string) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pods, err := c.agentPods(ctx, ns)
	if err != nil {
		return []string{"list the agent's pods: " + err.Error()}
	}
	if len(pods) == 0 {
		return []string{"no pod was created (see kubectl -n " + ns + " describe replicaset)"}
	}
	var lines []string
	for _, p := range pods {
		lines = append(lines, describePod(p)...)
		events, err := c.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
		if err != nil {
			continue
		}
		warnings := events.Items[:0]
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning {
				warnings = append(warnings, e)
			}
		}
		sort.Slice(warnings, func(i, j int) bool { return warnings[i].LastTimestamp.Before(&warnings[j].LastTimestamp) })
		if len(warnings) > 3 {
			warnings = warnings[len(warnings)-3:]
		}
		for _, e := range warnings {
			lines = append(lines, fmt.Sprintf("pod %s event %s: %s", p.Name, e.Reason, e.Message))
		}
	}
	return lines
}

// describePod says what keeps one pod from running: failed conditions, waiting containers and
// their last exit.
func describePod(p corev1.Pod) []string {
	lines := []string{fmt.Sprintf("pod %s: phase %s", p.Name, p.Status.Phase)}
	for _, cond := range p.Status.Conditions {
		if cond.Status != corev1.ConditionTrue && (cond.Reason != "" || cond.Message != "") {
			lines = append(lines, fmt.Sprintf("pod %s: %s: %s %s", p.Name, cond.Type, cond.Reason, cond.Message))
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			lines = append(lines, fmt.Sprintf("container %s waiting: %s: %s", cs.Name, w.Reason, w.Message))
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			lines = append(lines, fmt.Sprintf("container %s last exit %d (%s, restarts %d): %s", cs.Name, t.ExitCode, t.Reason, cs.RestartCount, lastLines(t.Message, 10)))
		}
		if t := cs.State.Terminated; t != nil {
			lines = append(lines, fmt.Sprintf("container %s exited %d (%s): %s", cs.Name, t.ExitCode, t.Reason, lastLines(t.Message, 10)))
		}
	}
	return lines
}

// lastLines keeps the last n lines of a termination message, indented under its line.
func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	if len(ls) == 1 {
		return ls[0]
	}
	return "\n      " + strings.Join(ls, "\n      ")
}
