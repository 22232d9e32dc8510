package trustgrant

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/internal/crds"
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

// allowsName is allows for a request naming an object (name; "" for a create or a list): a rule
// with resource names matches only a request naming one of them.
func allowsName(rules []rbacv1.PolicyRule, group, resource, verb, name string) bool {
	for _, r := range rules {
		if len(r.ResourceNames) > 0 && !slices.Contains(r.ResourceNames, name) {
			continue
		}
		r.ResourceNames = nil
		if allows([]rbacv1.PolicyRule{r}, group, resource, verb) {
			return true
		}
	}
	return false
}

// backupNeeds is what a backup does in the cluster (internal/backup, hooks, snapshot, crds,
// mover), "" in namespace meaning any; name is the object named, "" for a create or a list.
var backupNeeds = []struct{ group, resource, verb, namespace, name, why string }{
	{"", "namespaces", "list", "", "", "backup lists namespaces"},
	{"apps", "deployments", "list", "shop", "", "backup lists every type"},
	{"example.com", "widgets", "list", "shop", "", "backup lists custom resources"},
	{"", "secrets", "get", "shop", "db", "backup reads referenced objects"},
	{"", "persistentvolumes", "get", "", "pv-1", "the mover locates a volume"},
	{"", "pods", "list", "shop", "", "hooks select pods"},
	{"", "pods", "get", "shop", "web-0", "hooks wait for containers"},
	{"", "pods/exec", "create", "shop", "web-0", "hooks exec (SPDY, upgrade authorized as create)"},
	{"", "pods/exec", "get", "shop", "web-0", "hooks exec (WebSocket GET)"},
	{"snapshot.storage.k8s.io", "volumesnapshots", "create", "shop", "", "snapshots"},
	{"snapshot.storage.k8s.io", "volumesnapshots", "watch", "shop", "", "snapshots"},
	{"snapshot.storage.k8s.io", "volumesnapshots", "delete", "shop", "data-0", "expiry"},
	{"snapshot.storage.k8s.io", "volumesnapshots", "create", "backups", "", "the mover provisions a snapshot to copy"},
	{"snapshot.storage.k8s.io", "volumesnapshotcontents", "create", "", "", "the mover provisions a content to copy"},
	{"snapshot.storage.k8s.io", "volumesnapshotcontents", "patch", "", "snapcontent-1", "protect contents"},
	{"snapshot.storage.k8s.io", "volumesnapshotcontents", "delete", "", "snapcontent-1", "delete with the recovery point"},
	{"snapshot.storage.k8s.io", "volumesnapshotclasses", "list", "", "", "pick a class"},
	{"apiextensions.k8s.io", "customresourcedefinitions", "get", "", HookCRDs[0], "read the hook CRDs"},
	{"apiextensions.k8s.io", "customresourcedefinitions", "create", "", "", "install the hook CRDs"},
	{"apiextensions.k8s.io", "customresourcedefinitions", "update", "", HookCRDs[0], "update the hook CRDs"},
	{"apiextensions.k8s.io", "customresourcedefinitions", "update", "", HookCRDs[1], "update the hook CRDs"},
	{"authorization.k8s.io", "selfsubjectaccessreviews", "create", "", "", "validation, pre-flight"},
	{"", "pods", "create", "backups", "", "data mover pods"},
	{"", "pods", "delete", "backups", "cairn-mover-1", "data mover pods go"},
	{"", "persistentvolumeclaims", "create", "backups", "", "claims from snapshots"},
	{"", "persistentvolumeclaims", "delete", "backups", "cairn-mover-1", "claims go"},
	{"", "secrets", "create", "backups", "", "the mover's storage credential"},
	{"", "secrets", "delete", "backups", "cairn-mover-1", "the credential goes"},
	{"", "pods", "list", "backups", "", "the sweep lists leftovers"},
}

// grantAllows tells whether a grant (its ClusterRole, and its Role in namespace agentNS) allows a
// request.
func grantAllows(g Grant, extra []Rule, group, resource, verb, namespace, name string) bool {
	cluster := append(slices.Clone(g.ClusterRole.Rules), PolicyRules(extra)...)
	if allowsName(cluster, group, resource, verb, name) {
		return true
	}
	return g.Role != nil && namespace == g.Role.Namespace && allowsName(g.Role.Rules, group, resource, verb, name)
}

// TestBackupOnlyGrantAllowsABackup: the backup-only grant lets the agent do everything a backup
// does, the data movers' objects in its own namespace.
func TestBackupOnlyGrantAllowsABackup(t *testing.T) {
	g, err := NewOf(GrantBackupOnly, "backups", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range backupNeeds {
		if !grantAllows(g, nil, n.group, n.resource, n.verb, n.namespace, n.name) {
			t.Errorf("backup-only does not allow %s %s/%s %q in %q (%s)", n.verb, n.group, n.resource, n.name, n.namespace, n.why)
		}
	}
}

// TestBackupOnlyGrantWritesNothingButItsOwn: the backup-only grant writes nothing cluster-wide,
// cannot escalate or bind, creates pods, claims and Secrets in its own namespace only, updates no
// CRD but its own and no snapshot class; the restore grant adds the rest.
func TestBackupOnlyGrantWritesNothingButItsOwn(t *testing.T) {
	g, err := NewOf(GrantBackupOnly, "backups", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.ClusterRole.Rules {
		if (slices.Contains(r.Resources, "*") || slices.Contains(r.APIGroups, "*")) && !slices.Equal(r.Verbs, []string{"get", "list"}) {
			t.Errorf("a wildcard rule that writes: %+v", r)
		}
		if slices.Contains(r.Verbs, "*") {
			t.Errorf("a wildcard verb: %+v", r)
		}
		for _, v := range []string{"escalate", "bind", "impersonate", "deletecollection"} {
			if slices.Contains(r.Verbs, v) {
				t.Errorf("%s in the backup-only grant: %+v", v, r)
			}
		}
	}
	refused := []struct{ group, resource, verb, namespace, name string }{
		{"", "configmaps", "create", "shop", ""},
		{"", "configmaps", "create", "backups", ""},
		{"", "pods", "create", "shop", ""},
		{"", "pods", "delete", "shop", "web-0"},
		{"", "persistentvolumeclaims", "create", "shop", ""},
		{"", "secrets", "create", "kube-system", ""},
		{"", "serviceaccounts/token", "create", "kube-system", "default"},
		{"", "namespaces", "create", "", ""},
		{"", "persistentvolumes", "patch", "", "pv-1"},
		{"apps", "deployments", "patch", "shop", "web"},
		{"example.com", "widgets", "delete", "shop", "w"},
		{"apiextensions.k8s.io", "customresourcedefinitions", "update", "", "widgets.example.com"},
		{"apiextensions.k8s.io", "customresourcedefinitions", "delete", "", HookCRDs[0]},
		{"snapshot.storage.k8s.io", "volumesnapshotclasses", "create", "", ""},
		{"snapshot.storage.k8s.io", "volumesnapshotclasses", "patch", "", "csi"},
		{"rbac.authorization.k8s.io", "clusterroles", "escalate", "", "admin"},
		{"rbac.authorization.k8s.io", "roles", "bind", "shop", "admin"},
		{"rbac.authorization.k8s.io", "clusterrolebindings", "create", "", ""},
		{"rbac.authorization.k8s.io", "roles", "create", "backups", ""},
	}
	for _, x := range refused {
		if grantAllows(g, nil, x.group, x.resource, x.verb, x.namespace, x.name) {
			t.Errorf("backup-only allows %s %s/%s %q in %q", x.verb, x.group, x.resource, x.name, x.namespace)
		}
	}
	if g.Role == nil || g.Role.Namespace != "backups" || g.RoleBinding.Namespace != "backups" ||
		g.RoleBinding.RoleRef.Kind != "Role" || g.RoleBinding.Subjects[0].Namespace != "backups" || g.RoleBinding.Subjects[0].Name != AgentName {
		t.Fatalf("role %+v binding %+v", g.Role, g.RoleBinding)
	}
	for _, r := range g.Role.Rules {
		if slices.Contains(r.Resources, "*") || slices.Contains(r.APIGroups, "*") || slices.Contains(r.Verbs, "*") {
			t.Errorf("a wildcard in the Role: %+v", r)
		}
	}
	// The restore grant adds the writes.
	_, restore, err := Restore("backups", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range refused {
		if !grantAllows(g, restore, x.group, x.resource, x.verb, x.namespace, x.name) {
			t.Errorf("backup-only with the restore grant refuses %s %s/%s %q in %q", x.verb, x.group, x.resource, x.name, x.namespace)
		}
	}
	if _, noEscalation, _ := Restore("backups", false); grantAllows(g, noEscalation, "rbac.authorization.k8s.io", "clusterroles", "escalate", "", "admin") {
		t.Error("the restore grant without escalation escalates")
	}
	doc, err := YAML(GrantBackupOnly, "")
	if err != nil || !strings.Contains(doc, "kind: Role\n") || strings.Contains(doc, "escalate") {
		t.Errorf("backup-only manifest (%v):\n%s", err, doc)
	}
}

// TestBackupOnlyAndRestoreAllowWhatFullDoes: every request the full grant allows, backup-only with
// the restore grant allows too, with or without escalation.
func TestBackupOnlyAndRestoreAllowWhatFullDoes(t *testing.T) {
	g, err := NewOf(GrantBackupOnly, "", true)
	if err != nil {
		t.Fatal(err)
	}
	expand := func(list []string, wild ...string) []string {
		if slices.Contains(list, "*") {
			return wild
		}
		return list
	}
	for _, escalation := range []bool{true, false} {
		_, restore, err := Restore("", escalation)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range PolicyRules(Rules(escalation)) {
			for _, group := range expand(r.APIGroups, "", "apps", "example.com", "rbac.authorization.k8s.io") {
				for _, res := range expand(r.Resources, "configmaps", "pods", "widgets", "clusterroles") {
					for _, verb := range r.Verbs {
						for _, ns := range []string{"", "shop", DefaultNamespace} {
							if !grantAllows(g, restore, group, res, verb, ns, "") || !grantAllows(g, restore, group, res, verb, ns, "x") {
								t.Errorf("escalation=%v: full allows %s %s/%s in %q, backup-only with the restore grant does not", escalation, verb, group, res, ns)
							}
						}
					}
				}
			}
		}
	}
}

// TestGrantOf: the agent tells the grant it holds from its ClusterRole's rules.
func TestGrantOf(t *testing.T) {
	if got := GrantOf(PolicyRules(Rules(true))); got != GrantFull {
		t.Errorf("full rules: %s", got)
	}
	if got := GrantOf(PolicyRules(Rules(false))); got != GrantFull {
		t.Errorf("full rules without escalation: %s", got)
	}
	if got := GrantOf(PolicyRules(BackupRules())); got != GrantBackupOnly {
		t.Errorf("backup-only rules: %s", got)
	}
	if got := GrantOf(nil); got != GrantBackupOnly {
		t.Errorf("no rules: %s", got)
	}
}

// TestGrantNames: one list of grants; an unknown one is refused naming them all; the fix names
// the namespace when it is not the default.
func TestGrantNames(t *testing.T) {
	if Grants[0] != GrantFull {
		t.Errorf("the default grant is %s", Grants[0])
	}
	for _, g := range append([]string{""}, Grants...) {
		if err := ValidGrant(g); err != nil {
			t.Errorf("%q: %v", g, err)
		}
		if _, err := NewOf(g, "", true); err != nil {
			t.Errorf("%q: %v", g, err)
		}
		if Describe(g) == "" {
			t.Errorf("%q has no description", g)
		}
	}
	err := ValidGrant("read-only")
	if err == nil {
		t.Fatal("an unknown grant was accepted")
	}
	for _, g := range Grants {
		if !strings.Contains(err.Error(), g+" (") {
			t.Errorf("the error does not name %s: %v", g, err)
		}
	}
	if _, err := NewOf("read-only", "", true); err == nil {
		t.Error("NewOf accepted an unknown grant")
	}
	if fix := RestoreGrantFix(""); !strings.Contains(fix, "`cairn agent grant-restore`") || !strings.Contains(fix, "revoke-restore") {
		t.Errorf("fix: %s", fix)
	}
	if fix := RestoreGrantFix("backups"); !strings.Contains(fix, "`cairn agent grant-restore -n backups`") {
		t.Errorf("fix in another namespace: %s", fix)
	}
}

// TestHookCRDsAreTheEmbeddedOnes: the backup-only grant updates by name exactly the CRDs the
// agent installs.
func TestHookCRDsAreTheEmbeddedOnes(t *testing.T) {
	embedded, err := crds.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range embedded {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, HookCRDs) {
		t.Errorf("embedded CRDs %v, HookCRDs %v", names, HookCRDs)
	}
}

// TestOpenAPIGrants: the API document's ClusterRegistration.grant and TrustGrant.grant enumerate
// Grants.
func TestOpenAPIGrants(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []any `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, schema := range []string{"ClusterRegistration", "TrustGrant"} {
		var got []string
		for _, v := range doc.Components.Schemas[schema].Properties["grant"].Enum {
			got = append(got, fmt.Sprint(v))
		}
		if !slices.Equal(got, Grants) {
			t.Errorf("%s.grant enumerates %v, want %v", schema, got, Grants)
		}
	}
}
