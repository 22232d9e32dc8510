package restore

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMapping(t *testing.T) {
	tests := []struct {
		name    string
		pairs   []string
		want    map[string]string
		wantErr string // a part of the error
	}{
		{name: "none", pairs: nil, want: map[string]string{}},
		{name: "pairs", pairs: []string{"a=b", "c=d"}, want: map[string]string{"a": "b", "c": "d"}},
		{name: "identity", pairs: []string{"a=a"}, want: map[string]string{"a": "a"}},
		{name: "swap", pairs: []string{"a=b", "b=a"}, want: map[string]string{"a": "b", "b": "a"}},
		{name: "missing equals", pairs: []string{"a=b", "cd"}, wantErr: `"cd"`},
		{name: "empty source", pairs: []string{"=b"}, wantErr: `"=b"`},
		{name: "empty target", pairs: []string{"a="}, wantErr: `"a="`},
		{name: "empty pair", pairs: []string{""}, wantErr: `""`},
		{name: "duplicate source", pairs: []string{"a=b", "a=c"}, wantErr: `"a" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMapping("namespace", tt.pairs)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseMapping(%q) = %v, want an error", tt.pairs, got)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "namespace") {
					t.Errorf("error %q does not mention %s and what is mapped", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMapping(%q): %v", tt.pairs, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseMapping(%q) = %v, want %v", tt.pairs, got, tt.want)
			}
		})
	}
}

func TestMapperApply(t *testing.T) {
	m := mapper{
		namespaces:     map[string]string{"old": "new"},
		storageClasses: map[string]string{"slow": "fast"},
	}
	subjects := func(ns1, ns2 string) []any {
		return []any{
			map[string]any{"kind": "ServiceAccount", "name": "sa", "namespace": ns1},
			map[string]any{"kind": "ServiceAccount", "name": "sa2", "namespace": ns2},
			map[string]any{"kind": "ServiceAccount", "name": "sa3"},
			map[string]any{"kind": "User", "name": "old", "apiGroup": "rbac.authorization.k8s.io"},
			map[string]any{"kind": "Group", "name": "old", "apiGroup": "rbac.authorization.k8s.io"},
		}
	}
	pvc := func(ns, sc string) map[string]any {
		return map[string]any{
			"metadata": map[string]any{"name": "data", "namespace": ns},
			"spec":     map[string]any{"storageClassName": sc},
		}
	}
	tests := []struct {
		name string
		gr   string
		in   map[string]any
		want map[string]any
	}{
		{
			name: "namespaced object moved",
			gr:   "configmaps",
			in:   map[string]any{"metadata": map[string]any{"name": "cm", "namespace": "old"}},
			want: map[string]any{"metadata": map[string]any{"name": "cm", "namespace": "new"}},
		},
		{
			name: "unmapped namespace",
			gr:   "configmaps",
			in:   map[string]any{"metadata": map[string]any{"name": "cm", "namespace": "other"}},
			want: map[string]any{"metadata": map[string]any{"name": "cm", "namespace": "other"}},
		},
		{
			name: "cluster-scoped object",
			gr:   "clusterroles.rbac.authorization.k8s.io",
			in:   map[string]any{"metadata": map[string]any{"name": "old"}},
			want: map[string]any{"metadata": map[string]any{"name": "old"}},
		},
		{
			name: "namespace renamed",
			gr:   "namespaces",
			in:   map[string]any{"metadata": map[string]any{"name": "old"}},
			want: map[string]any{"metadata": map[string]any{"name": "new"}},
		},
		{
			name: "unmapped namespace object",
			gr:   "namespaces",
			in:   map[string]any{"metadata": map[string]any{"name": "other"}},
			want: map[string]any{"metadata": map[string]any{"name": "other"}},
		},
		{
			name: "rolebinding subjects",
			gr:   "rolebindings.rbac.authorization.k8s.io",
			in: map[string]any{
				"metadata": map[string]any{"name": "rb", "namespace": "old"},
				"subjects": subjects("old", "other"),
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "rb", "namespace": "new"},
				"subjects": subjects("new", "other"),
			},
		},
		{
			name: "clusterrolebinding subjects",
			gr:   "clusterrolebindings.rbac.authorization.k8s.io",
			in: map[string]any{
				"metadata": map[string]any{"name": "crb"},
				"subjects": subjects("old", "other"),
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "crb"},
				"subjects": subjects("new", "other"),
			},
		},
		{
			name: "binding without subjects",
			gr:   "clusterrolebindings.rbac.authorization.k8s.io",
			in:   map[string]any{"metadata": map[string]any{"name": "crb"}},
			want: map[string]any{"metadata": map[string]any{"name": "crb"}},
		},
		{
			name: "subjects of other types untouched",
			gr:   "configmaps",
			in: map[string]any{
				"metadata": map[string]any{"name": "cm", "namespace": "other"},
				"subjects": subjects("old", "old"),
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "cm", "namespace": "other"},
				"subjects": subjects("old", "old"),
			},
		},
		{
			name: "pv claimRef and class",
			gr:   "persistentvolumes",
			in: map[string]any{
				"metadata": map[string]any{"name": "pv1"},
				"spec": map[string]any{
					"storageClassName": "slow",
					"claimRef":         map[string]any{"name": "data", "namespace": "old"},
				},
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "pv1"},
				"spec": map[string]any{
					"storageClassName": "fast",
					"claimRef":         map[string]any{"name": "data", "namespace": "new"},
				},
			},
		},
		{
			name: "pv unmapped",
			gr:   "persistentvolumes",
			in: map[string]any{
				"metadata": map[string]any{"name": "pv1"},
				"spec": map[string]any{
					"storageClassName": "other",
					"claimRef":         map[string]any{"name": "data", "namespace": "other"},
				},
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "pv1"},
				"spec": map[string]any{
					"storageClassName": "other",
					"claimRef":         map[string]any{"name": "data", "namespace": "other"},
				},
			},
		},
		{
			name: "pv without claimRef or class",
			gr:   "persistentvolumes",
			in:   map[string]any{"metadata": map[string]any{"name": "pv1"}, "spec": map[string]any{}},
			want: map[string]any{"metadata": map[string]any{"name": "pv1"}, "spec": map[string]any{}},
		},
		{name: "pvc class", gr: "persistentvolumeclaims", in: pvc("old", "slow"), want: pvc("new", "fast")},
		{name: "pvc unmapped class", gr: "persistentvolumeclaims", in: pvc("old", "other"), want: pvc("new", "other")},
		{
			name: "pvc without class",
			gr:   "persistentvolumeclaims",
			in:   map[string]any{"metadata": map[string]any{"name": "data", "namespace": "x"}, "spec": map[string]any{}},
			want: map[string]any{"metadata": map[string]any{"name": "data", "namespace": "x"}, "spec": map[string]any{}},
		},
		{
			name: "statefulset claim templates",
			gr:   "statefulsets.apps",
			in: map[string]any{
				"metadata": map[string]any{"name": "db", "namespace": "old"},
				"spec": map[string]any{"volumeClaimTemplates": []any{
					map[string]any{"metadata": map[string]any{"name": "a"}, "spec": map[string]any{"storageClassName": "slow"}},
					map[string]any{"metadata": map[string]any{"name": "b"}, "spec": map[string]any{"storageClassName": "other"}},
					map[string]any{"metadata": map[string]any{"name": "c"}, "spec": map[string]any{}},
				}},
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "db", "namespace": "new"},
				"spec": map[string]any{"volumeClaimTemplates": []any{
					map[string]any{"metadata": map[string]any{"name": "a"}, "spec": map[string]any{"storageClassName": "fast"}},
					map[string]any{"metadata": map[string]any{"name": "b"}, "spec": map[string]any{"storageClassName": "other"}},
					map[string]any{"metadata": map[string]any{"name": "c"}, "spec": map[string]any{}},
				}},
			},
		},
		{
			name: "statefulset without templates",
			gr:   "statefulsets.apps",
			in:   map[string]any{"metadata": map[string]any{"name": "db", "namespace": "x"}, "spec": map[string]any{"replicas": int64(1)}},
			want: map[string]any{"metadata": map[string]any{"name": "db", "namespace": "x"}, "spec": map[string]any{"replicas": int64(1)}},
		},
		{
			name: "class field of other types untouched",
			gr:   "ingresses.networking.k8s.io",
			in:   map[string]any{"metadata": map[string]any{"name": "i", "namespace": "x"}, "spec": map[string]any{"storageClassName": "slow"}},
			want: map[string]any{"metadata": map[string]any{"name": "i", "namespace": "x"}, "spec": map[string]any{"storageClassName": "slow"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mkObj(tt.in)
			m.apply(tt.gr, o)
			if !reflect.DeepEqual(o.Object, tt.want) {
				t.Errorf("got  %#v\nwant %#v", o.Object, tt.want)
			}
		})
	}
}

func TestMapperApplyEmpty(t *testing.T) {
	in := map[string]any{
		"metadata": map[string]any{"name": "data", "namespace": "old"},
		"spec":     map[string]any{"storageClassName": "slow"},
	}
	o := mkObj(in)
	mapper{}.apply("persistentvolumeclaims", o)
	want := map[string]any{
		"metadata": map[string]any{"name": "data", "namespace": "old"},
		"spec":     map[string]any{"storageClassName": "slow"},
	}
	if !reflect.DeepEqual(o.Object, want) {
		t.Errorf("got %#v, want it unchanged", o.Object)
	}
}
