package restore

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDiffObjects(t *testing.T) {
	cm := func(value string, extraMeta map[string]any, status any) map[string]any {
		meta := map[string]any{"name": "cm", "namespace": "ns", "labels": map[string]any{"app": "a"}}
		for k, v := range extraMeta {
			meta[k] = v
		}
		o := map[string]any{
			"apiVersion": "v1",
			"kind":       "ConfigMap",
			"metadata":   meta,
			"data":       map[string]any{"key": value, "other": "same"},
		}
		if status != nil {
			o["status"] = status
		}
		return o
	}
	liveMeta := map[string]any{
		"uid":               "u1",
		"resourceVersion":   "42",
		"creationTimestamp": "2024-01-01T00:00:00Z",
		"generation":        int64(2),
		"selfLink":          "/api/v1/namespaces/ns/configmaps/cm",
		"managedFields":     []any{map[string]any{"manager": "kubectl", "operation": "Update"}},
	}
	tests := []struct {
		name          string
		live, desired map[string]any
		wantLines     []string // lines the diff must hold; none means no diff
	}{
		{
			name:    "identical",
			live:    cm("v", nil, nil),
			desired: cm("v", nil, nil),
		},
		{
			name:    "server fields only",
			live:    cm("v", liveMeta, map[string]any{"phase": "x"}),
			desired: cm("v", map[string]any{"uid": "u2", "resourceVersion": "1"}, nil),
		},
		{
			name:      "changed value",
			live:      cm("old", liveMeta, nil),
			desired:   cm("new", nil, nil),
			wantLines: []string{"--- live", "+++ restored", "-  key: old", "+  key: new", "   other: same"},
		},
		{
			name:      "added label",
			live:      cm("v", nil, nil),
			desired:   cm("v", map[string]any{"labels": map[string]any{"app": "a", "tier": "web"}}, nil),
			wantLines: []string{"+    tier: web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, desired := mkObj(tt.live), mkObj(tt.desired)
			liveBefore, desiredBefore := live.DeepCopy(), desired.DeepCopy()
			got := diffObjects(live, desired)
			if len(tt.wantLines) == 0 && got != "" {
				t.Errorf("diffObjects = %q, want none", got)
			}
			lines := strings.Split(got, "\n")
			for _, w := range tt.wantLines {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.TrimRight(l, " ") == w }) {
					t.Errorf("diff lacks line %q:\n%s", w, got)
				}
			}
			for _, l := range lines {
				if strings.Contains(l, "resourceVersion") || strings.Contains(l, "uid") || strings.Contains(l, "managedFields") {
					t.Errorf("diff shows server field: %q", l)
				}
			}
			if !reflect.DeepEqual(live.Object, liveBefore.Object) || !reflect.DeepEqual(desired.Object, desiredBefore.Object) {
				t.Error("diffObjects changed its arguments")
			}
		})
	}
}
