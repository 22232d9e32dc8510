// Package trustgrant is the identity a cluster's agent gets when the cluster is bound to a vault
// (docs/design/vault.md, "Trust grant"): its namespace, the ServiceAccount cairn-agent, the
// ClusterRole of its grant (full: what backup and restore need; backup-only: what backups need,
// with a Role in the agent's namespace), each rule with its reason, and the bindings, as objects
// and as the commented manifest the vault hands out at registration; and the restore grant an
// administrator adds to a backup-only agent for restores. The vault renders it, `cairn agent
// install` applies it, and the plain YAML and Helm chart in deploy/ are tested equal to it.
package trustgrant

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Names of the grant's objects.
const (
	// DefaultNamespace is where the agent runs unless told otherwise.
	DefaultNamespace = "cairn-system"
	// AgentName names the ServiceAccount, ClusterRole, ClusterRoleBinding and the agent's Deployment.
	AgentName = "cairn-agent"
)

// Environment variables through which the agent's pod tells the agent its own name and namespace
// (the downward API): the agent runs its data mover pods with its own image, network and
// namespace.
const (
	EnvPodName      = "CAIRN_POD_NAME"
	EnvPodNamespace = "CAIRN_POD_NAMESPACE"
)

// Labels every object of the grant and of an agent install carries.
const (
	LabelName    = "app.kubernetes.io/name"
	LabelPartOf  = "app.kubernetes.io/part-of"
	LabelManaged = "app.kubernetes.io/managed-by"
	// ManagedBy is the managed-by value of objects `cairn agent install` made; uninstall deletes a
	// namespace only when it carries it (a namespace the user made stays).
	ManagedBy = "cairn"
)

// Rule is one rule of the agent's ClusterRole with the reason it is there.
type Rule struct {
	Reason string
	rbacv1.PolicyRule
}

// The rules of the full grant, each with its reason; the backup-only grant shares readRule and
// reviewsRule.
var (
	readRule = Rule{
		Reason: "backup: discover and list every resource type, custom resources included, and read the " +
			"objects a backed-up object refers to; restore: read what exists before writing (conflict policy, pre-flight)",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}},
	}
	writeRule = Rule{
		Reason: "restore: create any backed-up object; update it (conflict policy patch); delete and " +
			"create it again (conflict policy recreate)",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"create", "update", "patch", "delete"}},
	}
	hooksRule = Rule{
		Reason: "hooks: find the pods a hook selects and wait for their containers, then run the hook's command " +
			"through pods/exec (GET for the WebSocket upgrade, create for SPDY and for API servers that authorize " +
			"the upgrade as create); stated on its own so that it survives a narrower write rule",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "pods/exec"}, Verbs: []string{"get", "list", "create"}},
	}
	snapshotsRule = Rule{
		Reason: "volume snapshots: take VolumeSnapshots of claims, protect and read their contents, pick a class, " +
			"watch them become ready, provision snapshots to restore from, delete them with their recovery point",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"snapshot.storage.k8s.io"},
			Resources: []string{"volumesnapshots", "volumesnapshotcontents", "volumesnapshotclasses"},
			Verbs:     []string{"create", "get", "list", "watch", "patch", "delete"}},
	}
	crdsRule = Rule{
		Reason: "the agent installs and updates the BackupHook and RestoreHook CRDs the binary carries",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"},
			Verbs: []string{"create", "get", "list", "update", "patch"}},
	}
	reviewsRule = Rule{
		Reason: "restore pre-flight: ask the API server what the agent may do before writing anything",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"authorization.k8s.io"},
			Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"}, Verbs: []string{"create"}},
	}
	escalationRule = Rule{
		Reason: "restore of RBAC objects: the API server refuses a Role or ClusterRole granting what its writer does " +
			"not hold (escalate), and a binding to such a role (bind); without this a restored cluster-admin-like " +
			"role fails. Install with --no-rbac-escalation to leave it out",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"rbac.authorization.k8s.io"},
			Resources: []string{"roles", "clusterroles"}, Verbs: []string{"escalate", "bind"}},
	}
)

// Rules returns the rules of the full grant's ClusterRole, in order. Without escalation the rule
// that lets the agent restore RBAC objects granting more than it holds is left out (see the
// "Trust grant" section of docs/design/vault.md for the trade-off).
//
// No rule has a wildcard verb. The resource wildcards are in the read rule (a backup captures every
// type the cluster serves, custom resources included, and types are added at any time) and the
// write rule (a restore recreates any of them).
func Rules(escalation bool) []Rule {
	rules := cloneRules(readRule, writeRule, hooksRule, snapshotsRule, crdsRule, reviewsRule)
	if escalation {
		rules = append(rules, cloneRules(escalationRule)...)
	}
	return rules
}

// cloneRules copies rules deeply: callers may change what they get.
func cloneRules(rules ...Rule) []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = Rule{Reason: r.Reason, PolicyRule: *r.DeepCopy()}
	}
	return out
}

// Grants a cluster's agent may hold (docs/design/vault.md, "Trust grant").
const (
	// GrantFull lets the agent back up and restore: Rules. The default.
	GrantFull = "full"
	// GrantBackupOnly lets the agent back up only: BackupRules cluster-wide and OwnNamespaceRules
	// in its namespace; restores need the restore grant (RestoreRules) added for them.
	GrantBackupOnly = "backup-only"
)

// Grants lists the grants, the default first: the one list every flag, API field and chart value
// naming a grant checks against.
var Grants = []string{GrantFull, GrantBackupOnly}

// grantShort says in a few words what each grant is for.
var grantShort = map[string]string{
	GrantFull:       "backup and restore",
	GrantBackupOnly: "backups only; restores need the restore grant added",
}

// GrantChoices names the grants with what each is for, for help texts and errors:
// "full (backup and restore) or backup-only (...)".
func GrantChoices() string {
	parts := make([]string, len(Grants))
	for i, g := range Grants {
		parts[i] = g + " (" + grantShort[g] + ")"
	}
	return strings.Join(parts, " or ")
}

// ValidGrant checks a grant's name ("" is the default, full).
func ValidGrant(grant string) error {
	if grant == "" || slices.Contains(Grants, grant) {
		return nil
	}
	return fmt.Errorf("grant %q: use %s", grant, GrantChoices())
}

// Describe says what a grant ("" is full) lets the agent do, in a line.
func Describe(grant string) string {
	if grant == GrantBackupOnly {
		return "the agent reads every object, manages volume snapshots, runs hooks and writes only its data movers' " +
			"pods, claims and Secrets in its namespace: it backs up but cannot restore"
	}
	return "the agent reads every object and may write any, escalate and bind included: it backs up and restores"
}

// RestoreGrantFix says how an administrator gives the agent in namespace ("" is the default) the
// restore grant, and takes it back: what a check naming the backup-only grant ends with.
func RestoreGrantFix(namespace string) string {
	flag := ""
	if namespace != "" && namespace != DefaultNamespace {
		flag = " -n " + namespace
	}
	return fmt.Sprintf("apply the restore grant with `cairn agent grant-restore%s` (with your kubeconfig), and take it back after the restore with `cairn agent revoke-restore`", flag)
}

// GrantOf says which grant a ClusterRole's rules are: GrantFull when they let the agent write
// every resource (the write rule), else GrantBackupOnly.
func GrantOf(rules []rbacv1.PolicyRule) string {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, "*") && slices.Contains(r.Resources, "*") && len(r.ResourceNames) == 0 &&
			(slices.Contains(r.Verbs, "*") || slices.Contains(r.Verbs, "create")) {
			return GrantFull
		}
	}
	return GrantBackupOnly
}

// RestoreRoleName names the ClusterRole and ClusterRoleBinding of the restore grant.
const RestoreRoleName = AgentName + "-restore"

// HookCRDs are the names of the CRDs the agent installs (internal/crds; a test keeps them equal):
// the backup-only grant updates these and no other.
var HookCRDs = []string{
	"backuphooks.clusterbackup.dataprotection.microsoft.com",
	"restorehooks.clusterbackup.dataprotection.microsoft.com",
}

// The rules of the backup-only grant besides readRule and reviewsRule: what a backup does of
// the full grant's hooks, snapshots and CRDs rules.
var (
	execRule = Rule{
		Reason: "hooks: run the hook's command in the pods it selects (found through the read rule) through pods/exec: " +
			"GET for the WebSocket upgrade, create for SPDY and for API servers that authorize the upgrade as create",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get", "create"}},
	}
	backupSnapshotsRule = Rule{
		Reason: "volume snapshots: take VolumeSnapshots of claims, protect and read their contents, watch them become ready, " +
			"provision snapshots for the data movers, delete them with their recovery point",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"snapshot.storage.k8s.io"},
			Resources: []string{"volumesnapshots", "volumesnapshotcontents"},
			Verbs:     []string{"create", "get", "list", "watch", "patch", "delete"}},
	}
	snapshotClassesRule = Rule{
		Reason: "and pick a class: VolumeSnapshotClasses are read, never written",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"snapshot.storage.k8s.io"},
			Resources: []string{"volumesnapshotclasses"}, Verbs: []string{"get", "list", "watch"}},
	}
	crdCreateRule = Rule{
		Reason: "the agent installs the BackupHook and RestoreHook CRDs the binary carries (a create cannot be limited by name)",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"},
			Verbs: []string{"create"}},
	}
	crdUpdateRule = Rule{
		Reason: "and updates them to the binary's version: those two CRDs by name, no other",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"},
			ResourceNames: HookCRDs, Verbs: []string{"update", "patch"}},
	}
)

// BackupRules are the ClusterRole of the backup-only grant: the read rule and the access reviews
// of Rules, with the hooks', snapshots' and CRDs' rules narrowed to what a backup does; no
// cluster-wide write, no create on pods (the data movers' are made in the agent's namespace:
// OwnNamespaceRules), no escalate or bind.
func BackupRules() []Rule {
	return cloneRules(readRule, execRule, backupSnapshotsRule, snapshotClassesRule, crdCreateRule, crdUpdateRule, reviewsRule)
}

// RestoreRules are what the restore grant adds to the backup-only grant: the cluster-wide write
// rule and, with escalation, escalate and bind. With BackupRules they allow what Rules does.
func RestoreRules(escalation bool) []Rule {
	if escalation {
		return cloneRules(writeRule, escalationRule)
	}
	return cloneRules(writeRule)
}

// OwnNamespaceRules are the Role of the backup-only grant in the agent's namespace: the objects a
// backup's data movers make there (internal/mover).
func OwnNamespaceRules() []Rule {
	return []Rule{{
		Reason: "volume data (copy tier, file-system backup): the data mover's pods, the claims provisioned from " +
			"snapshots and the storage credential Secrets they mount, made and deleted in the agent's own namespace only",
		PolicyRule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "persistentvolumeclaims", "secrets"},
			Verbs: []string{"create", "get", "list", "watch", "delete"}},
	}}
}

// PolicyRules drops the reasons.
func PolicyRules(rules []Rule) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(rules))
	for i, r := range rules {
		out[i] = r.PolicyRule
	}
	return out
}

// Labels returns the labels of the grant's and an install's objects.
func Labels() map[string]string {
	return map[string]string{LabelName: AgentName, LabelPartOf: "cairn", LabelManaged: ManagedBy}
}

// Grant is the trust grant as typed objects.
type Grant struct {
	Kind           string // GrantFull or GrantBackupOnly
	Namespace      *corev1.Namespace
	ServiceAccount *corev1.ServiceAccount
	ClusterRole    *rbacv1.ClusterRole
	Binding        *rbacv1.ClusterRoleBinding
	Rules          []Rule
	// Role and RoleBinding, of the backup-only grant only, give the agent OwnNamespaceRules in its
	// namespace.
	Role        *rbacv1.Role
	RoleBinding *rbacv1.RoleBinding
	RoleRules   []Rule
}

// New returns the grant of an agent in namespace (default cairn-system); without escalation its
// ClusterRole leaves out the rule that lets a restore write RBAC objects granting more than the
// agent holds.
func New(namespace string, escalation bool) (Grant, error) {
	return NewOf(GrantFull, namespace, escalation)
}

// NewOf returns the grant of kind (GrantFull or GrantBackupOnly; "" is full) of an agent in
// namespace; escalation matters to the full grant only.
func NewOf(kind, namespace string, escalation bool) (Grant, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if err := ValidNamespace(namespace); err != nil {
		return Grant{}, err
	}
	if err := ValidGrant(kind); err != nil {
		return Grant{}, err
	}
	if kind == GrantBackupOnly {
		return backupOnly(namespace), nil
	}
	rules := Rules(escalation)
	return Grant{Kind: GrantFull,
		Namespace: &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: Labels()}},
		ServiceAccount: &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Name: AgentName, Namespace: namespace, Labels: Labels()}},
		ClusterRole: &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: AgentName, Labels: Labels()}, Rules: PolicyRules(rules)},
		Binding: &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: AgentName, Labels: Labels()},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: AgentName},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: AgentName, Namespace: namespace}}},
		Rules: rules,
	}, nil
}

// backupOnly is the backup-only grant of an agent in namespace.
func backupOnly(namespace string) Grant {
	g, _ := NewOf(GrantFull, namespace, false)
	g.Kind, g.Rules, g.RoleRules = GrantBackupOnly, BackupRules(), OwnNamespaceRules()
	g.ClusterRole.Rules = PolicyRules(g.Rules)
	g.Role = &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: AgentName, Namespace: namespace, Labels: Labels()}, Rules: PolicyRules(g.RoleRules)}
	g.RoleBinding = &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: AgentName, Namespace: namespace, Labels: Labels()},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: AgentName},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: AgentName, Namespace: namespace}}}
	return g
}

// Objects returns the grant's objects in the order they are applied.
func (g Grant) Objects() []runtime.Object {
	objs := []runtime.Object{g.Namespace, g.ServiceAccount, g.ClusterRole, g.Binding}
	if g.Role != nil {
		objs = append(objs, g.Role, g.RoleBinding)
	}
	return objs
}

// Reasons are the grant's rules with their reasons by the kind of role holding them, for Render.
func (g Grant) Reasons() map[string][]Rule {
	return map[string][]Rule{"ClusterRole": g.Rules, "Role": g.RoleRules}
}

// Restore is the restore grant of an agent in namespace: the ClusterRole cairn-agent-restore with
// RestoreRules and its binding to the agent's ServiceAccount. An administrator applies it on a
// cluster holding the backup-only grant for as long as restores are to run there.
func Restore(namespace string, escalation bool) (objs []runtime.Object, rules []Rule, err error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if err := ValidNamespace(namespace); err != nil {
		return nil, nil, err
	}
	rules = RestoreRules(escalation)
	role := &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: RestoreRoleName, Labels: Labels()}, Rules: PolicyRules(rules)}
	binding := &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: RestoreRoleName, Labels: Labels()},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: RestoreRoleName},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: AgentName, Namespace: namespace}}}
	return []runtime.Object{role, binding}, rules, nil
}

// ValidNamespace checks a namespace name (a DNS label).
func ValidNamespace(ns string) error {
	if len(ns) > 63 || !dnsLabel(ns) {
		return fmt.Errorf("namespace %q is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", ns)
	}
	return nil
}

func dnsLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// Unstructured returns the objects of the trust grant for an agent in namespace (default
// cairn-system): the Namespace, the ServiceAccount cairn-agent, the ClusterRole cairn-agent with
// Rules(true) and the ClusterRoleBinding that gives it to the ServiceAccount.
func Unstructured(namespace string) ([]*unstructured.Unstructured, error) {
	g, err := New(namespace, true)
	if err != nil {
		return nil, err
	}
	return ToUnstructured(g.Objects())
}

// YAML renders the grant of kind ("" is full) as a multi-document YAML manifest, each rule
// preceded by a comment giving its reason: what the vault hands out when a cluster registers.
func YAML(kind, namespace string) (string, error) {
	g, err := NewOf(kind, namespace, true)
	if err != nil {
		return "", err
	}
	return Render(g.Objects(), g.Reasons())
}

// ToUnstructured converts typed objects, dropping the empty status and creation time the
// conversion adds.
func ToUnstructured(objs []runtime.Object) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("convert %T: %w", o, err)
		}
		delete(m, "status")
		if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
			delete(m, "spec")
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		if tmpl, ok, _ := unstructured.NestedMap(m, "spec", "template", "metadata"); ok {
			delete(tmpl, "creationTimestamp")
			_ = unstructured.SetNestedMap(m, tmpl, "spec", "template", "metadata")
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// Render writes objects as a multi-document manifest. A ClusterRole's rules are written one by
// one, each after a comment with its reason (rules sorts last among a ClusterRole's keys).
func Render(objs []runtime.Object, reasons map[string][]Rule) (string, error) {
	us, err := ToUnstructured(objs)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, u := range us {
		if i > 0 {
			b.WriteString("---\n")
		}
		var ruleYAML string
		if rules := reasons[u.GetKind()]; len(rules) > 0 {
			delete(u.Object, "rules")
			var rb strings.Builder
			rb.WriteString("rules:\n")
			for _, r := range rules {
				for _, line := range wrap(r.Reason, 96) {
					rb.WriteString("# " + line + "\n")
				}
				data, err := yaml.Marshal(r.PolicyRule)
				if err != nil {
					return "", fmt.Errorf("render rule: %w", err)
				}
				rb.WriteString(indentList(string(data)))
			}
			ruleYAML = rb.String()
		}
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return "", fmt.Errorf("render %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		b.Write(data)
		b.WriteString(ruleYAML)
	}
	return b.String(), nil
}

// indentList turns a YAML mapping into one item of a list.
func indentList(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = "- " + l
		} else {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// wrap splits text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
