package restore

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// mkObj wraps a map literal; numbers in it must be int64, as decoded JSON has them.
func mkObj(m map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: m} }

func TestCleanMetadataAndStatus(t *testing.T) {
	in := mkObj(map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":                       "cm",
			"namespace":                  "ns",
			"uid":                        "1234",
			"resourceVersion":            "99",
			"creationTimestamp":          "2024-01-01T00:00:00Z",
			"generation":                 int64(3),
			"managedFields":              []any{map[string]any{"manager": "kubectl"}},
			"selfLink":                   "/api/v1/namespaces/ns/configmaps/cm",
			"generateName":               "cm-",
			"deletionTimestamp":          "2024-01-02T00:00:00Z",
			"deletionGracePeriodSeconds": int64(30),
			"labels":                     map[string]any{"app": "a"},
			"annotations":                map[string]any{"note": "keep"},
			"finalizers":                 []any{"example.com/f"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "example.com/v1", "kind": "Thing", "name": "t", "uid": "u1",
			}},
		},
		"data":   map[string]any{"k": "v"},
		"status": map[string]any{"phase": "x"},
	})
	want := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":        "cm",
			"namespace":   "ns",
			"labels":      map[string]any{"app": "a"},
			"annotations": map[string]any{"note": "keep"},
			"finalizers":  []any{"example.com/f"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "example.com/v1", "kind": "Thing", "name": "t", "uid": "u1",
			}},
		},
		"data": map[string]any{"k": "v"},
	}
	clean("configmaps", in, cleanOptions{})
	if !reflect.DeepEqual(in.Object, want) {
		t.Errorf("got  %#v\nwant %#v", in.Object, want)
	}
}

func TestClean(t *testing.T) {
	meta := func(name string) map[string]any { return map[string]any{"name": name, "namespace": "ns"} }
	service := func() map[string]any {
		return map[string]any{
			"metadata": meta("svc"),
			"spec": map[string]any{
				"type":                "LoadBalancer",
				"clusterIP":           "10.0.0.7",
				"clusterIPs":          []any{"10.0.0.7"},
				"healthCheckNodePort": int64(32000),
				"ports": []any{
					map[string]any{"port": int64(80), "protocol": "TCP", "nodePort": int64(30080)},
					map[string]any{"port": int64(443), "protocol": "TCP", "nodePort": int64(30443)},
				},
			},
		}
	}
	tests := []struct {
		name string
		gr   string
		opts cleanOptions
		in   map[string]any
		want map[string]any
	}{
		{
			name: "namespace finalizers",
			gr:   "namespaces",
			in: map[string]any{
				"metadata": map[string]any{"name": "ns"},
				"spec":     map[string]any{"finalizers": []any{"kubernetes"}},
				"status":   map[string]any{"phase": "Active"},
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "ns"},
				"spec":     map[string]any{},
			},
		},
		{
			name: "service allocations",
			gr:   "services",
			in:   service(),
			want: map[string]any{
				"metadata": meta("svc"),
				"spec": map[string]any{
					"type": "LoadBalancer",
					"ports": []any{
						map[string]any{"port": int64(80), "protocol": "TCP"},
						map[string]any{"port": int64(443), "protocol": "TCP"},
					},
				},
			},
		},
		{
			name: "service preserved",
			gr:   "services",
			opts: cleanOptions{preserveServiceIPs: true, preserveNodePorts: true},
			in:   service(),
			want: service(),
		},
		{
			name: "service preserve IPs only",
			gr:   "services",
			opts: cleanOptions{preserveServiceIPs: true},
			in:   service(),
			want: map[string]any{
				"metadata": meta("svc"),
				"spec": map[string]any{
					"type":       "LoadBalancer",
					"clusterIP":  "10.0.0.7",
					"clusterIPs": []any{"10.0.0.7"},
					"ports": []any{
						map[string]any{"port": int64(80), "protocol": "TCP"},
						map[string]any{"port": int64(443), "protocol": "TCP"},
					},
				},
			},
		},
		{
			name: "service preserve node ports only",
			gr:   "services",
			opts: cleanOptions{preserveNodePorts: true},
			in:   service(),
			want: map[string]any{
				"metadata": meta("svc"),
				"spec": map[string]any{
					"type":                "LoadBalancer",
					"healthCheckNodePort": int64(32000),
					"ports": []any{
						map[string]any{"port": int64(80), "protocol": "TCP", "nodePort": int64(30080)},
						map[string]any{"port": int64(443), "protocol": "TCP", "nodePort": int64(30443)},
					},
				},
			},
		},
		{
			name: "headless service",
			gr:   "services",
			in: map[string]any{
				"metadata": meta("svc"),
				"spec":     map[string]any{"clusterIP": "None", "clusterIPs": []any{"None"}},
			},
			want: map[string]any{
				"metadata": meta("svc"),
				"spec":     map[string]any{"clusterIP": "None", "clusterIPs": []any{"None"}},
			},
		},
		{
			name: "service without ports",
			gr:   "services",
			in: map[string]any{
				"metadata": meta("svc"),
				"spec":     map[string]any{"type": "ExternalName", "externalName": "example.com"},
			},
			want: map[string]any{
				"metadata": meta("svc"),
				"spec":     map[string]any{"type": "ExternalName", "externalName": "example.com"},
			},
		},
		{
			name: "pv claimRef",
			gr:   "persistentvolumes",
			in: map[string]any{
				"metadata": map[string]any{"name": "pv1"},
				"spec": map[string]any{
					"claimRef": map[string]any{
						"kind": "PersistentVolumeClaim", "name": "data", "namespace": "ns",
						"uid": "u1", "resourceVersion": "5",
					},
				},
				"status": map[string]any{"phase": "Bound"},
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "pv1"},
				"spec": map[string]any{
					"claimRef": map[string]any{"kind": "PersistentVolumeClaim", "name": "data", "namespace": "ns"},
				},
			},
		},
		{
			name: "pvc volume restored",
			gr:   "persistentvolumeclaims",
			opts: cleanOptions{restoredPVs: map[string]bool{"pv1": true}},
			in: map[string]any{
				"metadata": map[string]any{
					"name": "data", "namespace": "ns",
					"annotations": map[string]any{
						"pv.kubernetes.io/bind-completed":      "yes",
						"pv.kubernetes.io/bound-by-controller": "yes",
						"volume.kubernetes.io/selected-node":   "node1",
						"team":                                 "a",
					},
				},
				"spec": map[string]any{"volumeName": "pv1", "storageClassName": "fast"},
			},
			want: map[string]any{
				"metadata": map[string]any{
					"name": "data", "namespace": "ns",
					"annotations": map[string]any{"team": "a"},
				},
				"spec": map[string]any{"volumeName": "pv1", "storageClassName": "fast"},
			},
		},
		{
			name: "pvc volume not restored",
			gr:   "persistentvolumeclaims",
			opts: cleanOptions{restoredPVs: map[string]bool{"other": true}},
			in: map[string]any{
				"metadata": map[string]any{
					"name": "data", "namespace": "ns",
					"annotations": map[string]any{"pv.kubernetes.io/bind-completed": "yes"},
				},
				"spec": map[string]any{"volumeName": "pv1"},
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "data", "namespace": "ns"},
				"spec":     map[string]any{},
			},
		},
		{
			name: "pvc nil restoredPVs",
			gr:   "persistentvolumeclaims",
			in: map[string]any{
				"metadata": map[string]any{"name": "data", "namespace": "ns"},
				"spec":     map[string]any{"volumeName": "pv1"},
			},
			want: map[string]any{
				"metadata": map[string]any{"name": "data", "namespace": "ns"},
				"spec":     map[string]any{},
			},
		},
		{
			name: "pod token volume",
			gr:   "pods",
			in: map[string]any{
				"metadata": meta("p"),
				"spec": map[string]any{
					"nodeName": "node1",
					"volumes": []any{
						map[string]any{"name": "data", "emptyDir": map[string]any{}},
						map[string]any{"name": "kube-api-access-abcde", "projected": map[string]any{"sources": []any{}}},
					},
					"initContainers": []any{
						map[string]any{"name": "init", "volumeMounts": []any{
							map[string]any{"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
						}},
					},
					"containers": []any{
						map[string]any{"name": "app", "volumeMounts": []any{
							map[string]any{"name": "data", "mountPath": "/data"},
							map[string]any{"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
						}},
						map[string]any{"name": "side", "volumeMounts": []any{
							map[string]any{"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
						}},
					},
				},
				"status": map[string]any{"phase": "Running"},
			},
			want: map[string]any{
				"metadata": meta("p"),
				"spec": map[string]any{
					"volumes": []any{
						map[string]any{"name": "data", "emptyDir": map[string]any{}},
					},
					"initContainers": []any{map[string]any{"name": "init"}},
					"containers": []any{
						map[string]any{"name": "app", "volumeMounts": []any{
							map[string]any{"name": "data", "mountPath": "/data"},
						}},
						map[string]any{"name": "side"},
					},
				},
			},
		},
		{
			name: "pod user volumes kept",
			gr:   "pods",
			in: map[string]any{
				"metadata": meta("p"),
				"spec": map[string]any{
					"volumes": []any{
						// projected, but not the injected one
						map[string]any{"name": "creds", "projected": map[string]any{"sources": []any{}}},
						// the injected name, but not projected
						map[string]any{"name": "kube-api-access-x", "emptyDir": map[string]any{}},
					},
					"containers": []any{
						map[string]any{"name": "app", "volumeMounts": []any{
							map[string]any{"name": "creds", "mountPath": "/creds"},
							map[string]any{"name": "kube-api-access-x", "mountPath": "/x"},
						}},
					},
				},
			},
			want: map[string]any{
				"metadata": meta("p"),
				"spec": map[string]any{
					"volumes": []any{
						map[string]any{"name": "creds", "projected": map[string]any{"sources": []any{}}},
						map[string]any{"name": "kube-api-access-x", "emptyDir": map[string]any{}},
					},
					"containers": []any{
						map[string]any{"name": "app", "volumeMounts": []any{
							map[string]any{"name": "creds", "mountPath": "/creds"},
							map[string]any{"name": "kube-api-access-x", "mountPath": "/x"},
						}},
					},
				},
			},
		},
		{
			name: "job generated selector",
			gr:   "jobs.batch",
			in: map[string]any{
				"metadata": meta("j"),
				"spec": map[string]any{
					"selector": map[string]any{"matchLabels": map[string]any{"batch.kubernetes.io/controller-uid": "u1"}},
					"template": map[string]any{
						"metadata": map[string]any{"labels": map[string]any{
							"app":                                "a",
							"controller-uid":                     "u1",
							"batch.kubernetes.io/controller-uid": "u1",
							"job-name":                           "j",
							"batch.kubernetes.io/job-name":       "j",
						}},
					},
				},
			},
			want: map[string]any{
				"metadata": meta("j"),
				"spec": map[string]any{
					"template": map[string]any{
						"metadata": map[string]any{"labels": map[string]any{"app": "a"}},
					},
				},
			},
		},
		{
			name: "job manual selector",
			gr:   "jobs.batch",
			in: map[string]any{
				"metadata": meta("j"),
				"spec": map[string]any{
					"manualSelector": true,
					"selector":       map[string]any{"matchLabels": map[string]any{"controller-uid": "mine"}},
					"template": map[string]any{
						"metadata": map[string]any{"labels": map[string]any{"controller-uid": "mine", "job-name": "j"}},
					},
				},
			},
			want: map[string]any{
				"metadata": meta("j"),
				"spec": map[string]any{
					"manualSelector": true,
					"selector":       map[string]any{"matchLabels": map[string]any{"controller-uid": "mine"}},
					"template": map[string]any{
						"metadata": map[string]any{"labels": map[string]any{"controller-uid": "mine", "job-name": "j"}},
					},
				},
			},
		},
		{
			name: "serviceaccount token secrets",
			gr:   "serviceaccounts",
			in: map[string]any{
				"metadata": meta("sa"),
				"secrets": []any{
					map[string]any{"name": "sa-token-abcde"},
					map[string]any{"name": "registry"},
					map[string]any{"name": "other-token-abcde"},
				},
			},
			want: map[string]any{
				"metadata": meta("sa"),
				"secrets": []any{
					map[string]any{"name": "registry"},
					map[string]any{"name": "other-token-abcde"},
				},
			},
		},
		{
			name: "serviceaccount only token secrets",
			gr:   "serviceaccounts",
			in: map[string]any{
				"metadata": meta("sa"),
				"secrets":  []any{map[string]any{"name": "sa-token-abcde"}},
			},
			want: map[string]any{"metadata": meta("sa")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mkObj(tt.in)
			clean(tt.gr, o, tt.opts)
			if !reflect.DeepEqual(o.Object, tt.want) {
				t.Errorf("got  %#v\nwant %#v", o.Object, tt.want)
			}
		})
	}
}

func TestCleanPodOnlyTokenVolume(t *testing.T) {
	o := mkObj(map[string]any{
		"metadata": map[string]any{"name": "p", "namespace": "ns"},
		"spec": map[string]any{
			"volumes": []any{map[string]any{"name": "kube-api-access-q", "projected": map[string]any{}}},
			"containers": []any{map[string]any{"name": "app", "volumeMounts": []any{
				map[string]any{"name": "kube-api-access-q", "mountPath": "/t"},
			}}},
		},
	})
	clean("pods", o, cleanOptions{})
	if v, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumes"); len(v) != 0 {
		t.Errorf("volumes = %v, want none", v)
	}
	c, _, _ := unstructured.NestedSlice(o.Object, "spec", "containers")
	if _, has := c[0].(map[string]any)["volumeMounts"]; has {
		t.Errorf("container kept volumeMounts: %v", c[0])
	}
	if _, err := o.MarshalJSON(); err != nil {
		t.Errorf("cleaned pod does not encode: %v", err)
	}
}
