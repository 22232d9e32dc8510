package restore

import (
	"strings"
	"testing"
)

func TestSkipReason(t *testing.T) {
	owned := func(apiVersion, kind string, controller any) map[string]any {
		ref := map[string]any{"apiVersion": apiVersion, "kind": kind, "name": "owner", "uid": "u1"}
		if controller != nil {
			ref["controller"] = controller
		}
		return map[string]any{
			"metadata": map[string]any{"name": "x", "namespace": "ns", "ownerReferences": []any{ref}},
		}
	}
	withMeta := func(meta map[string]any) map[string]any {
		m := map[string]any{"name": "x", "namespace": "ns"}
		for k, v := range meta {
			m[k] = v
		}
		return map[string]any{"metadata": m}
	}
	autoLabel := func(key, value string) map[string]any {
		return withMeta(map[string]any{"labels": map[string]any{key: value}})
	}
	tokenSecret := func(name string) map[string]any {
		o := withMeta(map[string]any{
			"name":        name,
			"annotations": map[string]any{"kubernetes.io/service-account.name": "sa"},
		})
		o["type"] = "kubernetes.io/service-account-token"
		return o
	}
	selectors := map[string]bool{"ns/web": true}

	tests := []struct {
		name     string
		gr       string
		obj      map[string]any
		wantSkip bool
		reason   string // a part of the reason, when skipped
	}{
		{name: "pod of replicaset", gr: "pods", obj: owned("apps/v1", "ReplicaSet", true), wantSkip: true, reason: "ReplicaSet/owner"},
		{name: "pod of job", gr: "pods", obj: owned("batch/v1", "Job", true), wantSkip: true, reason: "Job/owner"},
		{name: "pod of statefulset", gr: "pods", obj: owned("apps/v1", "StatefulSet", true), wantSkip: true, reason: "StatefulSet"},
		{name: "pod of daemonset", gr: "pods", obj: owned("apps/v1", "DaemonSet", true), wantSkip: true, reason: "DaemonSet"},
		{name: "replicaset of deployment", gr: "replicasets.apps", obj: owned("apps/v1", "Deployment", true), wantSkip: true, reason: "Deployment"},
		{name: "job of cronjob", gr: "jobs.batch", obj: owned("batch/v1", "CronJob", true), wantSkip: true, reason: "CronJob"},
		{name: "pod of custom resource", gr: "pods", obj: owned("example.com/v1", "ReplicaSet", true)},
		{name: "custom kind", gr: "pods", obj: owned("example.com/v1", "Workflow", true)},
		{name: "not controller", gr: "pods", obj: owned("apps/v1", "ReplicaSet", false)},
		{name: "controller unset", gr: "pods", obj: owned("apps/v1", "ReplicaSet", nil)},
		{name: "core group kind", gr: "pods", obj: owned("v1", "ReplicaSet", true)},
		{name: "owned by node", gr: "pods", obj: owned("v1", "Node", false), wantSkip: true, reason: "node"},
		{
			name: "mirror pod", gr: "pods", wantSkip: true, reason: "mirror",
			obj: withMeta(map[string]any{"annotations": map[string]any{"kubernetes.io/config.mirror": "abc"}}),
		},
		{name: "ordinary pod", gr: "pods", obj: withMeta(nil)},
		{name: "root ca configmap", gr: "configmaps", obj: withMeta(map[string]any{"name": "kube-root-ca.crt"}), wantSkip: true},
		{name: "ordinary configmap", gr: "configmaps", obj: withMeta(map[string]any{"name": "settings"})},
		{name: "root ca name in secrets", gr: "secrets", obj: withMeta(map[string]any{"name": "kube-root-ca.crt"})},
		{name: "auto token secret", gr: "secrets", obj: tokenSecret("sa-token-abcde"), wantSkip: true, reason: "token"},
		{name: "user token secret", gr: "secrets", obj: tokenSecret("sa-long-lived")},
		{name: "token of another sa", gr: "secrets", obj: tokenSecret("other-token-abcde")},
		{
			name: "opaque secret named like a token", gr: "secrets",
			obj: withMeta(map[string]any{
				"name":        "sa-token-abcde",
				"annotations": map[string]any{"kubernetes.io/service-account.name": "sa"},
			}),
		},
		{name: "endpoints of selector service", gr: "endpoints", obj: withMeta(map[string]any{"name": "web"}), wantSkip: true},
		{name: "endpoints of selectorless service", gr: "endpoints", obj: withMeta(map[string]any{"name": "db"})},
		{name: "endpoints in other namespace", gr: "endpoints", obj: withMeta(map[string]any{"name": "web", "namespace": "other"})},
		{
			name: "managed endpointslice", gr: "endpointslices.discovery.k8s.io", wantSkip: true,
			obj: autoLabel("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"),
		},
		{name: "unlabeled endpointslice", gr: "endpointslices.discovery.k8s.io", obj: withMeta(nil)},
		{
			name: "automanaged apiservice", gr: "apiservices.apiregistration.k8s.io", wantSkip: true,
			obj: autoLabel("kube-aggregator.kubernetes.io/automanaged", "onstart"),
		},
		{name: "user apiservice", gr: "apiservices.apiregistration.k8s.io", obj: withMeta(nil)},
		{
			name: "autoupdate flowschema", gr: "flowschemas.flowcontrol.apiserver.k8s.io", wantSkip: true,
			obj: withMeta(map[string]any{"annotations": map[string]any{"apf.kubernetes.io/autoupdate-spec": "true"}}),
		},
		{
			name: "autoupdate priority level", gr: "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io", wantSkip: true,
			obj: withMeta(map[string]any{"annotations": map[string]any{"apf.kubernetes.io/autoupdate-spec": "true"}}),
		},
		{
			name: "flowschema autoupdate false", gr: "flowschemas.flowcontrol.apiserver.k8s.io",
			obj: withMeta(map[string]any{"annotations": map[string]any{"apf.kubernetes.io/autoupdate-spec": "false"}}),
		},
		{
			name: "bootstrap clusterrole", gr: "clusterroles.rbac.authorization.k8s.io", wantSkip: true,
			obj: autoLabel("kubernetes.io/bootstrapping", "rbac-defaults"),
		},
		{
			name: "bootstrap clusterrolebinding", gr: "clusterrolebindings.rbac.authorization.k8s.io", wantSkip: true,
			obj: autoLabel("kubernetes.io/bootstrapping", "rbac-defaults"),
		},
		{
			name: "bootstrap role", gr: "roles.rbac.authorization.k8s.io", wantSkip: true,
			obj: autoLabel("kubernetes.io/bootstrapping", "rbac-defaults"),
		},
		{
			name: "bootstrap rolebinding", gr: "rolebindings.rbac.authorization.k8s.io", wantSkip: true,
			obj: autoLabel("kubernetes.io/bootstrapping", "rbac-defaults"),
		},
		{name: "user clusterrole", gr: "clusterroles.rbac.authorization.k8s.io", obj: withMeta(nil)},
		{
			name: "system priorityclass", gr: "priorityclasses.scheduling.k8s.io", wantSkip: true,
			obj: withMeta(map[string]any{"name": "system-node-critical"}),
		},
		{name: "user priorityclass", gr: "priorityclasses.scheduling.k8s.io", obj: withMeta(map[string]any{"name": "high"})},
		{
			name: "label on other type", gr: "configmaps",
			obj: autoLabel("kubernetes.io/bootstrapping", "rbac-defaults"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := skipReason(tt.gr, mkObj(tt.obj), selectors)
			if (got != "") != tt.wantSkip {
				t.Fatalf("skipReason = %q, want skip %v", got, tt.wantSkip)
			}
			if !strings.Contains(got, tt.reason) {
				t.Errorf("skipReason = %q, want it to mention %q", got, tt.reason)
			}
		})
	}
}

func TestSkipReasonNilSelectorServices(t *testing.T) {
	o := mkObj(map[string]any{"metadata": map[string]any{"name": "web", "namespace": "ns"}})
	if got := skipReason("endpoints", o, nil); got != "" {
		t.Errorf("skipReason = %q, want not skipped", got)
	}
}
