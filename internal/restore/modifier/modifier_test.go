package modifier

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// object decodes JSON into an unstructured object with int64 numbers, as the
// API machinery produces them.
func object(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := utiljson.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test object %s: %v", s, err)
	}
	return &unstructured.Unstructured{Object: m}
}

func mustParse(t *testing.T, s string) *Rules {
	t.Helper()
	r, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return r
}

const deployment = `{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web", "tier": "front"}},
  "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
}`

func TestParseErrors(t *testing.T) {
	const okRule = `
- conditions: {groupResource: configmaps}
  mergePatches: [{patchData: "{}"}]`
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown field", "version: v1\nresourceModifierRules:\n- conditions: {groupResource: pods}\n  strategicPatches: []\n", []string{"rule 1:", "unknown field", "strategicPatches", "known fields"}},
		{"unknown top-level field", "version: v1\nrules: []\n", []string{"unknown field", `"rules"`, "resourceModifierRules"}},
		{"unknown condition field", "version: v1\nresourceModifierRules:" + okRule + "\n- conditions: {groupResource: pods, namespace: a}\n  mergePatches: [{patchData: '{}'}]\n", []string{"rule 2:", `unknown field "namespace"`}},
		{"missing version", "resourceModifierRules: []\n", []string{"version is missing", "version: v1"}},
		{"wrong version", "version: v2\nresourceModifierRules: []\n", []string{`version "v2"`, "version: v1"}},
		{"unquoted object value", "version: v1\nresourceModifierRules:\n- conditions: {groupResource: pods}\n  patches: [{operation: add, path: /a, value: {b: 1}}]\n", []string{"rule 1:", "quote them"}},
		{"missing groupResource", "version: v1\nresourceModifierRules:" + okRule + `
- conditions: {namespaces: [a]}
  mergePatches: [{patchData: "{}"}]`, []string{"rule 2:", "groupResource is required", `"configmaps"`}},
		{"bad groupResource glob", `version: v1
resourceModifierRules:
- conditions: {groupResource: "[a"}
  mergePatches: [{patchData: "{}"}]`, []string{"rule 1:", "groupResource", "glob"}},
		{"bad regex", "version: v1\nresourceModifierRules:" + okRule + `
- conditions: {groupResource: pods, resourceNameRegex: "web-("}
  mergePatches: [{patchData: "{}"}]`, []string{"rule 2:", "resourceNameRegex", "missing closing )"}},
		{"bad namespace glob", `version: v1
resourceModifierRules:
- conditions: {groupResource: pods, namespaces: ["team-["]}
  mergePatches: [{patchData: "{}"}]`, []string{"rule 1:", "namespaces[0]"}},
		{"bad label selector", `version: v1
resourceModifierRules:
- conditions:
    groupResource: pods
    labelSelector:
      matchExpressions: [{key: app, operator: Like, values: [x]}]
  mergePatches: [{patchData: "{}"}]`, []string{"rule 1:", "labelSelector", "operator"}},
		{"bad match path", `version: v1
resourceModifierRules:
- conditions: {groupResource: pods, matches: [{path: spec/replicas, value: "1"}]}
  mergePatches: [{patchData: "{}"}]`, []string{"rule 1:", "matches[0].path", `start it with "/"`}},
		{"bad operation", "version: v1\nresourceModifierRules:" + okRule + okRule + `
- conditions: {groupResource: pods}
  patches: [{operation: delete, path: /a}]`, []string{"rule 3:", "patch 1:", `operation "delete"`, "add, remove, replace, copy, move, test"}},
		{"path without slash", `version: v1
resourceModifierRules:
- conditions: {groupResource: pods}
  patches: [{operation: remove, path: a}]`, []string{"rule 1:", "patch 1:", "path:", `start it with "/"`}},
		{"copy without from", `version: v1
resourceModifierRules:
- conditions: {groupResource: pods}
  patches:
  - {operation: remove, path: /a}
  - {operation: copy, path: /b}`, []string{"rule 1:", "patch 2:", "from is required for copy"}},
		{"replace without value", `version: v1
resourceModifierRules:
- conditions: {groupResource: pods}
  patches: [{operation: replace, path: /a}]`, []string{"rule 1:", "value is required for replace", `value: "2"`}},
		{"merge patch not an object", "version: v1\nresourceModifierRules:" + okRule + `
- conditions: {groupResource: pods}
  mergePatches: [{patchData: "[1, 2]"}]`, []string{"rule 2:", "merge patch 1:", "not an object"}},
		{"merge patch invalid yaml", `version: v1
resourceModifierRules:
- conditions: {groupResource: pods}
  mergePatches: [{patchData: "a: [b"}]`, []string{"rule 1:", "merge patch 1:", "patchData"}},
		{"rule without patches", "version: v1\nresourceModifierRules:" + okRule + `
- conditions: {groupResource: pods}`, []string{"rule 2:", "no patches or mergePatches"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseFullExample(t *testing.T) {
	r := mustParse(t, `
version: v1
resourceModifierRules:
- conditions:
    groupResource: deployments.apps
    resourceNameRegex: "^web-.*$"
    namespaces: [shop, "team-*"]
    labelSelector:
      matchLabels: {app: web}
    matches:
    - path: /spec/replicas
      value: "3"
  patches:
  - operation: replace
    path: /spec/replicas
    value: "2"
  - operation: copy
    from: /metadata/labels/app
    path: /metadata/labels/name
  mergePatches:
  - patchData: |
      metadata:
        annotations:
          restored-by: cairn
`)
	obj := object(t, deployment)
	applied, err := r.Apply("deployments.apps", obj)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(applied, []int{1}) {
		t.Fatalf("applied = %v, want [1]", applied)
	}
	want := object(t, deployment)
	want.Object["spec"].(map[string]any)["replicas"] = int64(2)
	want.SetLabels(map[string]string{"app": "web", "tier": "front", "name": "web"})
	want.SetAnnotations(map[string]string{"restored-by": "cairn"})
	if !reflect.DeepEqual(obj.Object, want.Object) {
		t.Fatalf("got %v\nwant %v", obj.Object, want.Object)
	}

	// The same file as JSON.
	if _, err := Parse([]byte(`{"version":"v1","resourceModifierRules":[{"conditions":{"groupResource":"*"},"patches":[{"operation":"remove","path":"/a"}]}]}`)); err != nil {
		t.Fatalf("JSON rules: %v", err)
	}
}

func TestConditions(t *testing.T) {
	const clusterRole = `{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "web-admin", "labels": {"app": "web"}}}`
	const configMap = `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "team-a"}, "data": {"mode": "fast", "count": "3"}}`
	tests := []struct {
		name  string
		cond  string // YAML flow mapping for conditions
		gr    string
		obj   string
		match bool
	}{
		{"group resource exact", `{groupResource: deployments.apps}`, "deployments.apps", deployment, true},
		{"group resource other", `{groupResource: deployments.apps}`, "statefulsets.apps", deployment, false},
		{"group resource glob", `{groupResource: "*.apps"}`, "deployments.apps", deployment, true},
		{"group resource glob other group", `{groupResource: "*.apps"}`, "configmaps", configMap, false},
		{"group resource star", `{groupResource: "*"}`, "configmaps", configMap, true},
		{"core resource", `{groupResource: configmaps}`, "configmaps", configMap, true},
		{"core resource is not grouped", `{groupResource: configmaps}`, "configmaps.example.com", configMap, false},
		{"name regex", `{groupResource: "*", resourceNameRegex: "^web-\\d$"}`, "deployments.apps", deployment, true},
		{"name regex miss", `{groupResource: "*", resourceNameRegex: "^api-"}`, "deployments.apps", deployment, false},
		{"namespace exact", `{groupResource: "*", namespaces: [other, shop]}`, "deployments.apps", deployment, true},
		{"namespace glob", `{groupResource: "*", namespaces: ["team-*"]}`, "configmaps", configMap, true},
		{"namespace glob miss", `{groupResource: "*", namespaces: ["team-*"]}`, "deployments.apps", deployment, false},
		{"cluster-scoped without namespaces", `{groupResource: "*"}`, "clusterroles.rbac.authorization.k8s.io", clusterRole, true},
		{"cluster-scoped with namespaces", `{groupResource: "*", namespaces: ["*"]}`, "clusterroles.rbac.authorization.k8s.io", clusterRole, false},
		{"match labels", `{groupResource: "*", labelSelector: {matchLabels: {app: web}}}`, "deployments.apps", deployment, true},
		{"match labels miss", `{groupResource: "*", labelSelector: {matchLabels: {app: api}}}`, "deployments.apps", deployment, false},
		{"match expressions", `{groupResource: "*", labelSelector: {matchExpressions: [{key: tier, operator: In, values: [front, back]}, {key: legacy, operator: DoesNotExist}]}}`, "deployments.apps", deployment, true},
		{"match expressions miss", `{groupResource: "*", labelSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [front]}]}}`, "deployments.apps", deployment, false},
		{"label selector on unlabelled object", `{groupResource: "*", labelSelector: {matchLabels: {app: web}}}`, "configmaps", configMap, false},
		{"matches number", `{groupResource: "*", matches: [{path: /spec/replicas, value: "3"}]}`, "deployments.apps", deployment, true},
		{"matches number unequal", `{groupResource: "*", matches: [{path: /spec/replicas, value: "4"}]}`, "deployments.apps", deployment, false},
		{"matches plain string", `{groupResource: "*", matches: [{path: /spec/template/spec/containers/0/image, value: nginx}]}`, "deployments.apps", deployment, true},
		{"matches quoted string", `{groupResource: "*", matches: [{path: /spec/template/spec/containers/0/image, value: "\"nginx\""}]}`, "deployments.apps", deployment, true},
		{"matches string unequal", `{groupResource: "*", matches: [{path: /spec/template/spec/containers/0/image, value: httpd}]}`, "deployments.apps", deployment, false},
		{"matches string holding a number", `{groupResource: "*", matches: [{path: /data/count, value: "3"}]}`, "configmaps", configMap, true},
		{"matches object", `{groupResource: "*", matches: [{path: /metadata/labels, value: "{\"tier\":\"front\",\"app\":\"web\"}"}]}`, "deployments.apps", deployment, true},
		{"matches missing path", `{groupResource: "*", matches: [{path: /spec/paused, value: "false"}]}`, "deployments.apps", deployment, false},
		{"matches index out of range", `{groupResource: "*", matches: [{path: /spec/template/spec/containers/1/image, value: nginx}]}`, "deployments.apps", deployment, false},
		{"all conditions", `{groupResource: deployments.apps, resourceNameRegex: "^web", namespaces: [shop], labelSelector: {matchLabels: {app: web}}, matches: [{path: /spec/replicas, value: "3"}]}`, "deployments.apps", deployment, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, "version: v1\nresourceModifierRules:\n- conditions: "+tt.cond+"\n  mergePatches: [{patchData: '{\"metadata\": {\"annotations\": {\"hit\": \"yes\"}}}'}]\n")
			obj := object(t, tt.obj)
			applied, err := r.Apply(tt.gr, obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(applied) == 1; got != tt.match {
				t.Fatalf("matched = %v, want %v", got, tt.match)
			}
			if got := obj.GetAnnotations()["hit"] == "yes"; got != tt.match {
				t.Fatalf("annotation set = %v, want %v", got, tt.match)
			}
		})
	}
}

// patchRule builds a rules file with one catch-all rule holding the given
// YAML list of patches.
func patchRule(patches string) string {
	return "version: v1\nresourceModifierRules:\n- conditions: {groupResource: '*'}\n  patches:\n" + patches
}

func TestJSONPatch(t *testing.T) {
	const base = `{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 3, "list": [1, 2]}}`
	tests := []struct {
		name    string
		patches string
		want    string // expected object; empty when an error is expected
		wantErr []string
	}{
		{"add", `  - {operation: add, path: /spec/paused, value: "true"}`,
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 3, "list": [1, 2], "paused": true}}`, nil},
		{"add to array end", `  - {operation: add, path: /spec/list/-, value: "3"}`,
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 3, "list": [1, 2, 3]}}`, nil},
		{"replace", `  - {operation: replace, path: /spec/replicas, value: "1"}`,
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 1, "list": [1, 2]}}`, nil},
		{"remove", `  - {operation: remove, path: /spec/list/0}`,
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 3, "list": [2]}}`, nil},
		{"copy", `  - {operation: copy, from: /metadata/labels/app, path: /metadata/labels/name}`,
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web", "name": "web"}}, "spec": {"replicas": 3, "list": [1, 2]}}`, nil},
		{"move", `  - {operation: move, from: /spec/list, path: /spec/items}`,
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 3, "items": [1, 2]}}`, nil},
		{"escaped pointer", `  - {operation: add, path: /metadata/labels/example.com~1role, value: db}`,
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web", "example.com/role": "db"}}, "spec": {"replicas": 3, "list": [1, 2]}}`, nil},
		{"test passes", "  - {operation: test, path: /spec/replicas, value: \"3\"}\n  - {operation: replace, path: /spec/replicas, value: \"0\"}",
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 0, "list": [1, 2]}}`, nil},
		{"ops see earlier ops", "  - {operation: add, path: /spec/new, value: \"1\"}\n  - {operation: replace, path: /spec/new, value: \"2\"}",
			`{"metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web"}}, "spec": {"replicas": 3, "list": [1, 2], "new": 2}}`, nil},
		{"test fails", "  - {operation: replace, path: /spec/replicas, value: \"0\"}\n  - {operation: test, path: /spec/replicas, value: \"5\"}",
			"", []string{"rule 1:", "ns/x", "patch 2 (test /spec/replicas)", "test failed"}},
		{"replace missing path", `  - {operation: replace, path: /spec/missing, value: "1"}`,
			"", []string{"rule 1:", "ns/x", "patch 1", "/spec/missing does not exist"}},
		{"remove missing path", `  - {operation: remove, path: /spec/missing}`,
			"", []string{"rule 1:", "ns/x", "/spec/missing does not exist"}},
		{"copy missing from", `  - {operation: copy, from: /metadata/labels/nope, path: /metadata/labels/name}`,
			"", []string{"rule 1:", "ns/x", "/metadata/labels/nope does not exist"}},
		{"add under missing parent", `  - {operation: add, path: /status/phase, value: Ready}`,
			"", []string{"rule 1:", "ns/x", "patch 1 (add /status/phase)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, patchRule(tt.patches))
			obj := object(t, base)
			applied, err := r.Apply("things.example.com", obj)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; object %v", obj.Object)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if applied != nil {
					t.Errorf("applied = %v on error", applied)
				}
				if want := object(t, base); !reflect.DeepEqual(obj.Object, want.Object) {
					t.Errorf("object changed on error: %v", obj.Object)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := object(t, tt.want); !reflect.DeepEqual(obj.Object, want.Object) {
				t.Fatalf("got %v\nwant %v", obj.Object, want.Object)
			}
		})
	}
}

func TestValueForms(t *testing.T) {
	tests := []struct {
		name  string
		value string // YAML scalar as written in the file
		want  any
	}{
		{"number", `"2"`, int64(2)},
		{"float", `"2.5"`, 2.5},
		{"boolean", `"false"`, false},
		{"null", `"null"`, nil},
		{"quoted string", `"\"x\""`, "x"},
		{"object", `"{\"a\":1}"`, map[string]any{"a": int64(1)}},
		{"array", `'["a", 1]'`, []any{"a", int64(1)}},
		{"plain text", `"plain text"`, "plain text"},
		{"empty string", `""`, ""},
		// sigs.k8s.io/yaml turns unquoted scalars into strings for string fields.
		{"unquoted number", `2`, int64(2)},
		{"unquoted boolean", `true`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, patchRule("  - {operation: add, path: /v, value: "+tt.value+"}\n"))
			obj := object(t, `{"metadata": {"name": "x"}}`)
			if _, err := r.Apply("things", obj); err != nil {
				t.Fatal(err)
			}
			got, ok := obj.Object["v"]
			if !ok {
				t.Fatalf("/v not set: %v", obj.Object)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("/v = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestMergePatch(t *testing.T) {
	r := mustParse(t, `
version: v1
resourceModifierRules:
- conditions: {groupResource: deployments.apps}
  mergePatches:
  - patchData: |
      metadata:
        annotations:
          restored-by: cairn
  - patchData: '{"spec": {"template": null, "replicas": 1}}'
`)
	obj := object(t, deployment)
	if _, err := r.Apply("deployments.apps", obj); err != nil {
		t.Fatal(err)
	}
	want := object(t, `{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web", "tier": "front"}, "annotations": {"restored-by": "cairn"}},
  "spec": {"replicas": 1}
}`)
	if !reflect.DeepEqual(obj.Object, want.Object) {
		t.Fatalf("got %v\nwant %v", obj.Object, want.Object)
	}
}

func TestRulesInOrder(t *testing.T) {
	r := mustParse(t, `
version: v1
resourceModifierRules:
- conditions: {groupResource: deployments.apps}
  patches: [{operation: replace, path: /spec/replicas, value: "1"}]
- conditions: {groupResource: configmaps}
  patches: [{operation: remove, path: /data}]
- conditions:
    groupResource: "*"
    matches: [{path: /spec/replicas, value: "1"}]
  patches: [{operation: add, path: /metadata/labels/scaled, value: "down"}]
- conditions: {groupResource: "*.apps"}
  patches: [{operation: replace, path: /metadata/labels/scaled, value: "\"twice\""}]
`)
	obj := object(t, deployment)
	applied, err := r.Apply("deployments.apps", obj)
	if err != nil {
		t.Fatal(err)
	}
	// Rule 3 matches only because rule 1 ran first.
	if want := []int{1, 3, 4}; !reflect.DeepEqual(applied, want) {
		t.Fatalf("applied = %v, want %v", applied, want)
	}
	if got := obj.GetLabels()["scaled"]; got != "twice" {
		t.Fatalf("label scaled = %q, want twice", got)
	}

	// A failure in a later rule discards the changes of the earlier ones.
	r = mustParse(t, `
version: v1
resourceModifierRules:
- conditions: {groupResource: "*"}
  patches: [{operation: replace, path: /spec/replicas, value: "1"}]
- conditions: {groupResource: "*"}
  patches: [{operation: test, path: /spec/replicas, value: "3"}]
`)
	obj = object(t, deployment)
	if _, err := r.Apply("deployments.apps", obj); err == nil || !strings.Contains(err.Error(), "rule 2: deployments.apps shop/web-1") {
		t.Fatalf("err = %v, want a rule 2 failure naming shop/web-1", err)
	}
	if want := object(t, deployment); !reflect.DeepEqual(obj.Object, want.Object) {
		t.Fatalf("object changed on error: %v", obj.Object)
	}
}

func TestNoMatchLeavesObjectAlone(t *testing.T) {
	r := mustParse(t, strings.Replace(patchRule(`  - {operation: add, path: /x, value: "1"}`), "'*'", "secrets", 1))
	obj := object(t, deployment)
	before := obj.Object
	applied, err := r.Apply("deployments.apps", obj)
	if err != nil || applied != nil {
		t.Fatalf("Apply = %v, %v; want nil, nil", applied, err)
	}
	if reflect.ValueOf(obj.Object).Pointer() != reflect.ValueOf(before).Pointer() {
		t.Fatal("object map replaced although no rule applied")
	}
}

func TestNilRules(t *testing.T) {
	var r *Rules
	obj := object(t, deployment)
	applied, err := r.Apply("deployments.apps", obj)
	if err != nil || applied != nil {
		t.Fatalf("Apply = %v, %v; want nil, nil", applied, err)
	}
	if want := object(t, deployment); !reflect.DeepEqual(obj.Object, want.Object) {
		t.Fatalf("object changed: %v", obj.Object)
	}
	if applied, err := r.Apply("deployments.apps", nil); err != nil || applied != nil {
		t.Fatalf("Apply(nil object) = %v, %v; want nil, nil", applied, err)
	}
}

func TestRulesWithoutParse(t *testing.T) {
	value := "7"
	r := &Rules{Version: Version, ResourceModifierRules: []Rule{{
		Conditions: Conditions{GroupResource: "*"},
		Patches:    []JSONPatch{{Operation: "replace", Path: "/spec/replicas", Value: &value}},
	}}}
	obj := object(t, deployment)
	if _, err := r.Apply("deployments.apps", obj); err != nil {
		t.Fatal(err)
	}
	if got := obj.Object["spec"].(map[string]any)["replicas"]; got != int64(7) {
		t.Fatalf("replicas = %#v, want 7", got)
	}

	r.ResourceModifierRules[0].Conditions.GroupResource = ""
	if _, err := r.Apply("deployments.apps", object(t, deployment)); err == nil || !strings.Contains(err.Error(), "rule 1:") {
		t.Fatalf("err = %v, want rule 1 validation error", err)
	}
}
