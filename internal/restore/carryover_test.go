package restore

import (
	"reflect"
	"testing"
)

func TestCarryOver(t *testing.T) {
	meta := func(rv string) map[string]any {
		m := map[string]any{"name": "x", "namespace": "ns"}
		if rv != "" {
			m["resourceVersion"] = rv
		}
		return m
	}
	port := func(port int64, protocol string, nodePort int64) map[string]any {
		p := map[string]any{"port": port, "protocol": protocol}
		if nodePort != 0 {
			p["nodePort"] = nodePort
		}
		return p
	}
	liveService := map[string]any{
		"metadata": meta("42"),
		"spec": map[string]any{
			"type":                "LoadBalancer",
			"clusterIP":           "10.0.0.7",
			"clusterIPs":          []any{"10.0.0.7"},
			"healthCheckNodePort": int64(32000),
			"ports": []any{
				port(80, "TCP", 30080),
				port(53, "UDP", 30053),
				port(53, "TCP", 30054),
			},
		},
	}
	liveJob := map[string]any{
		"metadata": meta("7"),
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"batch.kubernetes.io/controller-uid": "live"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{
				"app":                                "live",
				"controller-uid":                     "live",
				"batch.kubernetes.io/controller-uid": "live",
				"job-name":                           "x",
				"batch.kubernetes.io/job-name":       "x",
			}}},
		},
	}
	tests := []struct {
		name          string
		gr            string
		live, desired map[string]any
		want          map[string]any
	}{
		{
			name:    "resourceVersion",
			gr:      "configmaps",
			live:    map[string]any{"metadata": meta("42"), "data": map[string]any{"k": "live"}},
			desired: map[string]any{"metadata": meta(""), "data": map[string]any{"k": "backup"}},
			want:    map[string]any{"metadata": meta("42"), "data": map[string]any{"k": "backup"}},
		},
		{
			name: "service allocations",
			gr:   "services",
			live: liveService,
			desired: map[string]any{
				"metadata": meta(""),
				"spec": map[string]any{
					"type":  "LoadBalancer",
					"ports": []any{port(53, "TCP", 0), port(53, "UDP", 0), port(8080, "TCP", 0)},
				},
			},
			want: map[string]any{
				"metadata": meta("42"),
				"spec": map[string]any{
					"type":                "LoadBalancer",
					"clusterIP":           "10.0.0.7",
					"clusterIPs":          []any{"10.0.0.7"},
					"healthCheckNodePort": int64(32000),
					"ports":               []any{port(53, "TCP", 30054), port(53, "UDP", 30053), port(8080, "TCP", 0)},
				},
			},
		},
		{
			name: "service keeps its own",
			gr:   "services",
			live: liveService,
			desired: map[string]any{
				"metadata": meta(""),
				"spec": map[string]any{
					"type":                "LoadBalancer",
					"clusterIP":           "10.0.0.9",
					"clusterIPs":          []any{"10.0.0.9"},
					"healthCheckNodePort": int64(32001),
					"ports":               []any{port(80, "TCP", 31080)},
				},
			},
			want: map[string]any{
				"metadata": meta("42"),
				"spec": map[string]any{
					"type":                "LoadBalancer",
					"clusterIP":           "10.0.0.9",
					"clusterIPs":          []any{"10.0.0.9"},
					"healthCheckNodePort": int64(32001),
					"ports":               []any{port(80, "TCP", 31080)},
				},
			},
		},
		{
			name:    "headless service",
			gr:      "services",
			live:    map[string]any{"metadata": meta("42"), "spec": map[string]any{"clusterIP": "None", "clusterIPs": []any{"None"}}},
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{"clusterIP": "None"}},
			want:    map[string]any{"metadata": meta("42"), "spec": map[string]any{"clusterIP": "None", "clusterIPs": []any{"None"}}},
		},
		{
			name:    "service without ports",
			gr:      "services",
			live:    liveService,
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{"type": "LoadBalancer"}},
			want: map[string]any{
				"metadata": meta("42"),
				"spec": map[string]any{
					"type":                "LoadBalancer",
					"clusterIP":           "10.0.0.7",
					"clusterIPs":          []any{"10.0.0.7"},
					"healthCheckNodePort": int64(32000),
				},
			},
		},
		{
			name:    "pvc volumeName",
			gr:      "persistentvolumeclaims",
			live:    map[string]any{"metadata": meta("3"), "spec": map[string]any{"volumeName": "pvc-123"}},
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{"storageClassName": "fast"}},
			want:    map[string]any{"metadata": meta("3"), "spec": map[string]any{"storageClassName": "fast", "volumeName": "pvc-123"}},
		},
		{
			name:    "pvc keeps its volumeName",
			gr:      "persistentvolumeclaims",
			live:    map[string]any{"metadata": meta("3"), "spec": map[string]any{"volumeName": "pvc-123"}},
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{"volumeName": "pv-backup"}},
			want:    map[string]any{"metadata": meta("3"), "spec": map[string]any{"volumeName": "pv-backup"}},
		},
		{
			name:    "pvc live unbound",
			gr:      "persistentvolumeclaims",
			live:    map[string]any{"metadata": meta("3"), "spec": map[string]any{}},
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{}},
			want:    map[string]any{"metadata": meta("3"), "spec": map[string]any{}},
		},
		{
			name: "pv claimRef",
			gr:   "persistentvolumes",
			live: map[string]any{"metadata": meta("5"), "spec": map[string]any{
				"claimRef": map[string]any{"name": "data", "namespace": "ns", "uid": "u1", "resourceVersion": "9"},
			}},
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{
				"claimRef": map[string]any{"name": "data", "namespace": "ns"},
			}},
			want: map[string]any{"metadata": meta("5"), "spec": map[string]any{
				"claimRef": map[string]any{"name": "data", "namespace": "ns", "uid": "u1", "resourceVersion": "9"},
			}},
		},
		{
			name: "job selector and labels",
			gr:   "jobs.batch",
			live: liveJob,
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "backup"}}},
			}},
			want: map[string]any{"metadata": meta("7"), "spec": map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"batch.kubernetes.io/controller-uid": "live"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{
					"app":                                "backup",
					"controller-uid":                     "live",
					"batch.kubernetes.io/controller-uid": "live",
					"job-name":                           "x",
					"batch.kubernetes.io/job-name":       "x",
				}}},
			}},
		},
		{
			name: "job keeps its own",
			gr:   "jobs.batch",
			live: liveJob,
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{
				"manualSelector": true,
				"selector":       map[string]any{"matchLabels": map[string]any{"controller-uid": "mine"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{
					"controller-uid": "mine",
				}}},
			}},
			want: map[string]any{"metadata": meta("7"), "spec": map[string]any{
				"manualSelector": true,
				"selector":       map[string]any{"matchLabels": map[string]any{"controller-uid": "mine"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{
					"controller-uid":                     "mine",
					"batch.kubernetes.io/controller-uid": "live",
					"job-name":                           "x",
					"batch.kubernetes.io/job-name":       "x",
				}}},
			}},
		},
		{
			name:    "pod nodeName",
			gr:      "pods",
			live:    map[string]any{"metadata": meta("8"), "spec": map[string]any{"nodeName": "node1"}},
			desired: map[string]any{"metadata": meta(""), "spec": map[string]any{}},
			want:    map[string]any{"metadata": meta("8"), "spec": map[string]any{"nodeName": "node1"}},
		},
		{
			name:    "other type fields not carried",
			gr:      "configmaps",
			live:    map[string]any{"metadata": meta("1"), "spec": map[string]any{"nodeName": "node1", "volumeName": "v"}},
			desired: map[string]any{"metadata": meta("")},
			want:    map[string]any{"metadata": meta("1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := mkObj(tt.live).DeepCopy()
			before := live.DeepCopy()
			desired := mkObj(tt.desired)
			carryOver(tt.gr, live, desired)
			if !reflect.DeepEqual(desired.Object, tt.want) {
				t.Errorf("got  %#v\nwant %#v", desired.Object, tt.want)
			}
			if !reflect.DeepEqual(live.Object, before.Object) {
				t.Errorf("carryOver changed the live object: %#v", live.Object)
			}
		})
	}
}

// The desired object must not share maps or slices with the live one.
func TestCarryOverCopies(t *testing.T) {
	live := mkObj(map[string]any{
		"metadata": map[string]any{"name": "x", "resourceVersion": "1"},
		"spec":     map[string]any{"clusterIPs": []any{"10.0.0.7"}},
	})
	desired := mkObj(map[string]any{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{}})
	carryOver("services", live, desired)
	desired.Object["spec"].(map[string]any)["clusterIPs"].([]any)[0] = "changed"
	if got := live.Object["spec"].(map[string]any)["clusterIPs"].([]any)[0]; got != "10.0.0.7" {
		t.Errorf("changing desired changed live: %v", got)
	}
}
