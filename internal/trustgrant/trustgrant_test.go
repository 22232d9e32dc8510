package trustgrant

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// allows tells whether rules grant verb on group/resource (a subresource as "pods/exec"), the way
// the RBAC authorizer matches: "*" matches any group or resource.
func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if (slices.Contains(r.APIGroups, "*") || slices.Contains(r.APIGroups, group)) &&
			(slices.Contains(r.Resources, "*") || slices.Contains(r.Resources, resource)) &&
			(slices.Contains(r.Verbs, "*") || slices.Contains(r.Verbs, verb)) {
			return true
		}
	}
	return false
}

// needed is what the engines do in the cluster (internal/backup, restore, hooks, snapshot, crds).
var needed = []struct{ group, resource, verb, why string }{
	{"", "namespaces", "list", "backup lists namespaces"},
	{"apps", "deployments", "list", "backup lists every type"},
	{"example.com", "widgets", "list", "backup lists custom resources"},
	{"", "secrets", "get", "backup reads referenced objects"},
	{"", "configmaps", "create", "restore creates objects"},
	{"example.com", "widgets", "create", "restore creates custom resources"},
	{"apps", "deployments", "update", "conflict policy patch"},
	{"", "services", "delete", "conflict policy recreate"},
	{"", "persistentvolumeclaims", "patch", "restore patches"},
	{"", "pods", "list", "hooks select pods"},
	{"", "pods", "get", "hooks wait for containers"},
	{"", "pods/exec", "create", "hooks exec (SPDY, upgrade authorized as create)"},
	{"", "pods/exec", "get", "hooks exec (WebSocket GET)"},
	{"snapshot.storage.k8s.io", "volumesnapshots", "create", "snapshots"},
	{"snapshot.storage.k8s.io", "volumesnapshots", "watch", "snapshots"},
	{"snapshot.storage.k8s.io", "volumesnapshotcontents", "patch", "protect contents"},
	{"snapshot.storage.k8s.io", "volumesnapshotcontents", "delete", "delete with the recovery point"},
	{"snapshot.storage.k8s.io", "volumesnapshotclasses", "list", "pick a class"},
	{"apiextensions.k8s.io", "customresourcedefinitions", "create", "install the hook CRDs"},
	{"apiextensions.k8s.io", "customresourcedefinitions", "update", "update the hook CRDs"},
	{"authorization.k8s.io", "selfsubjectaccessreviews", "create", "pre-flight"},
	{"authorization.k8s.io", "selfsubjectrulesreviews", "create", "pre-flight"},
	{"rbac.authorization.k8s.io", "clusterroles", "escalate", "restore ClusterRoles"},
	{"rbac.authorization.k8s.io", "roles", "bind", "restore RoleBindings"},
}

func TestRulesGrantWhatTheEnginesDo(t *testing.T) {
	rules := PolicyRules(Rules(true))
	for _, n := range needed {
		if !allows(rules, n.group, n.resource, n.verb) {
			t.Errorf("ClusterRole does not allow %s on %s/%s (%s)", n.verb, n.group, n.resource, n.why)
		}
	}
}

func TestRulesHoldNothingMore(t *testing.T) {
	for _, escalation := range []bool{true, false} {
		rules := Rules(escalation)
		for _, r := range rules {
			if r.Reason == "" {
				t.Errorf("rule %v has no reason", r.PolicyRule)
			}
			if slices.Contains(r.Verbs, "*") {
				t.Errorf("rule %v has a wildcard verb", r.PolicyRule)
			}
			if len(r.NonResourceURLs) > 0 || len(r.ResourceNames) > 0 {
				t.Errorf("rule %v: unexpected non-resource URLs or names", r.PolicyRule)
			}
			for _, v := range r.Verbs {
				switch v {
				case "impersonate", "approve", "sign", "use", "deletecollection":
					t.Errorf("rule %v grants %s, which neither backup nor restore needs", r.PolicyRule, v)
				case "escalate", "bind":
					if !escalation || !slices.Equal(r.APIGroups, []string{"rbac.authorization.k8s.io"}) ||
						!slices.Equal(r.Resources, []string{"roles", "clusterroles"}) {
						t.Errorf("rule %v: escalate and bind belong to roles and clusterroles only, and only with escalation", r.PolicyRule)
					}
				}
			}
			if slices.Contains(r.Resources, "*") && !slices.Equal(r.Verbs, []string{"get", "list"}) &&
				!slices.Equal(r.Verbs, []string{"create", "update", "patch", "delete"}) {
				t.Errorf("rule %v: a resource wildcard is only justified for the read and the restore rule", r.PolicyRule)
			}
		}
		ps := PolicyRules(rules)
		for _, verb := range []string{"impersonate", "escalate", "bind"} {
			if verb != "impersonate" && escalation {
				continue
			}
			for _, res := range []string{"users", "groups", "serviceaccounts", "roles", "clusterroles"} {
				if allows(ps, "rbac.authorization.k8s.io", res, verb) || allows(ps, "", res, verb) {
					t.Errorf("escalation=%v: rules allow %s on %s", escalation, verb, res)
				}
			}
		}
	}
}

func TestTrustGrant(t *testing.T) {
	objs, err := Unstructured("")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	want := []string{"Namespace /cairn-system", "ServiceAccount cairn-system/cairn-agent", "ClusterRole /cairn-agent", "ClusterRoleBinding /cairn-agent"}
	if !slices.Equal(got, want) {
		t.Fatalf("trust grant objects:\n got %v\nwant %v", got, want)
	}
	var binding rbacv1.ClusterRoleBinding
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[3].Object, &binding); err != nil {
		t.Fatal(err)
	}
	if binding.RoleRef.Name != AgentName || len(binding.Subjects) != 1 || binding.Subjects[0].Namespace != DefaultNamespace ||
		binding.Subjects[0].Name != AgentName || binding.Subjects[0].Kind != "ServiceAccount" {
		t.Errorf("binding does not give the ClusterRole to the agent's ServiceAccount: %+v", binding)
	}

	other, err := Unstructured("backup-agents")
	if err != nil {
		t.Fatal(err)
	}
	if other[0].GetName() != "backup-agents" || other[1].GetNamespace() != "backup-agents" {
		t.Errorf("namespace not applied: %v %v", other[0].GetName(), other[1].GetNamespace())
	}
	if _, err := Unstructured("Not_A_Namespace"); err == nil {
		t.Error("an invalid namespace was accepted")
	}
}

// TestTrustGrantYAML: the manifest decodes to TrustGrant's objects, and every rule follows a
// comment with its reason.
func TestTrustGrantYAML(t *testing.T) {
	doc, err := YAML("", "")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Unstructured("")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(doc, "\n---\n")
	if len(docs) != len(objs) {
		t.Fatalf("%d documents, want %d:\n%s", len(docs), len(objs), doc)
	}
	for i, d := range docs {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, d)
		}
		a, _ := yaml.Marshal(u.Object)
		b, _ := yaml.Marshal(objs[i].Object)
		if string(a) != string(b) {
			t.Errorf("document %d differs from TrustGrant:\n%s\nwant\n%s", i, a, b)
		}
	}
	comments := commentBlocks(doc)
	rules := Rules(true)
	if len(comments) != len(rules) {
		t.Fatalf("%d comment blocks for %d rules:\n%s", len(comments), len(rules), doc)
	}
	for i, r := range rules {
		if comments[i] != r.Reason {
			t.Errorf("rule %d: comment %q, want its reason %q", i, comments[i], r.Reason)
		}
	}
}

// commentBlocks returns each run of "# " lines joined into one line.
func commentBlocks(doc string) []string {
	var out []string
	var cur []string
	for _, l := range strings.Split(doc, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "# "); ok {
			cur = append(cur, c)
			continue
		}
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	return out
}

// TestChartRuleReasons: the chart's ClusterRole gives each rule the reason this package does.
func TestChartRuleReasons(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "deploy", "helm", "cairn-agent", "templates", "clusterrole.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := commentBlocks(string(src))
	rules := Rules(true)
	if len(blocks) != len(rules)+1 {
		t.Fatalf("%d comment blocks, want a header and one per rule (%d)", len(blocks), len(rules))
	}
	for i, r := range rules {
		if blocks[i+1] != r.Reason {
			t.Errorf("rule %d: chart says %q, want %q", i, blocks[i+1], r.Reason)
		}
	}
}

// TestBackupOnlyGrantWritesNothingButItsOwn: the backup-only grant's ClusterRole keeps the read,
// snapshot, hook, CRD and review rules and drops the cluster-wide write and escalate/bind; its
// Role writes only pods, claims and Secrets in the agent's namespace; the restore grant adds back
// exactly what was dropped.
func TestBackupOnlyGrantWritesNothingButItsOwn(t *testing.T) {
	g, err := NewOf(GrantBackupOnly, "backups", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.ClusterRole.Rules {
		if slices.Contains(r.Resources, "*") && slices.ContainsFunc(r.Verbs, func(v string) bool { return v != "get" && v != "list" }) {
			t.Errorf("a wildcard rule that writes: %+v", r)
		}
		if slices.Contains(r.Verbs, "escalate") || slices.Contains(r.Verbs, "bind") {
			t.Errorf("escalation in the backup-only grant: %+v", r)
		}
	}
	if g.Role == nil || g.Role.Namespace != "backups" || g.RoleBinding.Subjects[0].Namespace != "backups" ||
		!slices.Equal(g.Role.Rules[0].Resources, []string{"pods", "persistentvolumeclaims", "secrets"}) {
		t.Fatalf("role %+v binding %+v", g.Role, g.RoleBinding)
	}
	full, _ := New("backups", true)
	restoreObjs, restore, err := Restore("backups", true)
	if err != nil || len(restoreObjs) != 2 {
		t.Fatal(err)
	}
	if len(g.Rules)+len(restore) != len(full.Rules) {
		t.Errorf("backup-only %d rules + restore %d rules, full %d", len(g.Rules), len(restore), len(full.Rules))
	}
	if _, noEscalation, _ := Restore("backups", false); len(noEscalation) != len(restore)-1 {
		t.Errorf("restore without escalation: %d rules", len(noEscalation))
	}
	if err := ValidGrant("read-only"); err == nil || !strings.Contains(err.Error(), "use full") {
		t.Errorf("an unknown grant: %v", err)
	}
	doc, err := YAML(GrantBackupOnly, "")
	if err != nil || !strings.Contains(doc, "kind: Role\n") || strings.Contains(doc, "escalate") {
		t.Errorf("backup-only manifest (%v):\n%s", err, doc)
	}
}
