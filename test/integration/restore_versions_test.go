//go:build integration

package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/restore"
)

// recordedItem is one item of a recorded backup: its group's key and its JSON.
type recordedItem struct {
	key        archive.GroupKey
	namespaced bool
	item       string
}

// oldClusterItems are objects as a Kubernetes 1.21 cluster served them, at versions v1.35 no
// longer serves.
var oldClusterItems = []recordedItem{
	{archive.GroupKey{Version: "v1", Resource: "namespaces", Kind: "Namespace"}, false,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"legacy"}}`},
	{archive.GroupKey{Group: "extensions", Version: "v1beta1", Resource: "ingresses", Kind: "Ingress", Namespace: "legacy"}, true,
		`{"apiVersion":"extensions/v1beta1","kind":"Ingress","metadata":{"name":"web","namespace":"legacy"},"spec":{"backend":{"serviceName":"web","servicePort":80},"rules":[{"host":"legacy.example","http":{"paths":[{"path":"/api","backend":{"serviceName":"api","servicePort":"http"}}]}}]}}`},
	{archive.GroupKey{Group: "batch", Version: "v1beta1", Resource: "cronjobs", Kind: "CronJob", Namespace: "legacy"}, true,
		`{"apiVersion":"batch/v1beta1","kind":"CronJob","metadata":{"name":"nightly","namespace":"legacy"},"spec":{"schedule":"0 3 * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"job","image":"busybox"}]}}}}}}`},
	{archive.GroupKey{Group: "policy", Version: "v1beta1", Resource: "poddisruptionbudgets", Kind: "PodDisruptionBudget", Namespace: "legacy"}, true,
		`{"apiVersion":"policy/v1beta1","kind":"PodDisruptionBudget","metadata":{"name":"web","namespace":"legacy"},"spec":{"minAvailable":1,"selector":{"matchLabels":{"app":"web"}}}}`},
	{archive.GroupKey{Group: "autoscaling", Version: "v2beta1", Resource: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespace: "legacy"}, true,
		`{"apiVersion":"autoscaling/v2beta1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"legacy"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":4,"metrics":[{"type":"Resource","resource":{"name":"cpu","targetAverageUtilization":60}}]}}`},
	{archive.GroupKey{Group: "apiextensions.k8s.io", Version: "v1beta1", Resource: "customresourcedefinitions", Kind: "CustomResourceDefinition"}, false,
		`{"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.legacy.example"},"spec":{"group":"legacy.example","version":"v1","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget","listKind":"WidgetList"},"validation":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}},"additionalPrinterColumns":[{"name":"Size","type":"integer","JSONPath":".spec.size"}]}}`},
	{archive.GroupKey{Group: "legacy.example", Version: "v1", Resource: "widgets", Kind: "Widget", Namespace: "legacy"}, true,
		`{"apiVersion":"legacy.example/v1","kind":"Widget","metadata":{"name":"gear","namespace":"legacy"},"spec":{"size":3,"colour":"teal"}}`},
	{archive.GroupKey{Group: "admissionregistration.k8s.io", Version: "v1beta1", Resource: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration"}, false,
		`{"apiVersion":"admissionregistration.k8s.io/v1beta1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"legacy-policy"},"webhooks":[{"name":"gadgets.legacy.example","sideEffects":"None","clientConfig":{"url":"https://127.0.0.1:1/validate"},"rules":[{"operations":["CREATE"],"apiGroups":["legacy.example"],"apiVersions":["v1"],"resources":["gadgets"]}]}]}`},
	{archive.GroupKey{Group: "admissionregistration.k8s.io", Version: "v1beta1", Resource: "mutatingwebhookconfigurations", Kind: "MutatingWebhookConfiguration"}, false,
		`{"apiVersion":"admissionregistration.k8s.io/v1beta1","kind":"MutatingWebhookConfiguration","metadata":{"name":"legacy-inject"},"webhooks":[{"name":"inject.legacy.example","sideEffects":"Unknown","clientConfig":{"url":"https://127.0.0.1:1/inject"},"rules":[{"operations":["CREATE"],"apiGroups":["legacy.example"],"apiVersions":["v1"],"resources":["gadgets"]}]}]}`},
	{archive.GroupKey{Group: "policy", Version: "v1beta1", Resource: "podsecuritypolicies", Kind: "PodSecurityPolicy"}, false,
		`{"apiVersion":"policy/v1beta1","kind":"PodSecurityPolicy","metadata":{"name":"restricted"},"spec":{"privileged":false}}`},
}

// TestRestoreConvertsRemovedVersions restores a recorded backup of an old cluster, holding objects
// of versions Kubernetes removed, into the v1.35 control plane: the dry run names each
// conversion first; the restore converts the Ingress, CronJob, PodDisruptionBudget,
// HorizontalPodAutoscaler, a CustomResourceDefinition (whose custom resource then restores with
// the field its schema does not list) and a ValidatingWebhookConfiguration to versions it serves
// (fields rewritten where the schemas differ) and fails the PodSecurityPolicy, naming what
// replaced it, and a MutatingWebhookConfiguration of side effects v1 refuses, naming them.
func TestRestoreConvertsRemovedVersions(t *testing.T) {
	ctx := t.Context()
	repoURL := storageURL(t)
	recordBackup(ctx, t, strings.TrimPrefix(repoURL, "file://"), "old-cluster", oldClusterItems)
	t.Cleanup(func() { deleteLegacyClusterObjects(t) })

	dry := restoreJSON(t, source, "restore", "create", "legacy-dry", "--from", "old-cluster", "--storage", repoURL, "--dry-run")
	converted := map[string]string{}
	for _, it := range dry.Items {
		if it.Converted != "" {
			converted[it.Resource+"/"+it.Name] = it.Converted
		}
	}
	for item, want := range map[string]string{
		"ingresses.extensions/web":                                                   "extensions/v1beta1 Ingress → networking.k8s.io/v1",
		"cronjobs.batch/nightly":                                                     "batch/v1beta1 CronJob → batch/v1",
		"poddisruptionbudgets.policy/web":                                            "policy/v1beta1 PodDisruptionBudget → policy/v1",
		"horizontalpodautoscalers.autoscaling/web":                                   "autoscaling/v2beta1 HorizontalPodAutoscaler → autoscaling/v2",
		"customresourcedefinitions.apiextensions.k8s.io/widgets.legacy.example":      "apiextensions.k8s.io/v1beta1 CustomResourceDefinition → apiextensions.k8s.io/v1",
		"validatingwebhookconfigurations.admissionregistration.k8s.io/legacy-policy": "admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration → admissionregistration.k8s.io/v1",
	} {
		if converted[item] != want {
			t.Errorf("dry run: %s converted %q, want %q (all: %v)", item, converted[item], want, converted)
		}
	}

	// It exits non-zero: the PodSecurityPolicy would fail.
	out, _, _ := cairn(t, source, "restore", "create", "legacy-dry-2", "--from", "old-cluster", "--storage", repoURL, "--dry-run")
	if !strings.Contains(out, "6 item(s) converted to a version the target serves") || !strings.Contains(out, "converted extensions/v1beta1 Ingress → networking.k8s.io/v1") {
		t.Errorf("dry run output:\n%s", out)
	}

	res := restoreJSON(t, source, "restore", "create", "legacy", "--from", "old-cluster", "--storage", repoURL)
	if res.Counts.Converted != 6 {
		t.Errorf("converted %d items, want 6", res.Counts.Converted)
	}
	var psp, inject *restore.ItemResult
	for i, it := range res.Items {
		switch {
		case strings.HasPrefix(it.Resource, "podsecuritypolicies"):
			psp = &res.Items[i]
		case strings.HasPrefix(it.Resource, "mutatingwebhookconfigurations"):
			inject = &res.Items[i]
		case it.Action == restore.ActionFail:
			t.Errorf("%s %s/%s failed: %s", it.Resource, it.Namespace, it.Name, it.Reason)
		}
	}
	if psp == nil || psp.Action != restore.ActionFail || !strings.Contains(psp.Reason, "Pod Security Admission") {
		t.Errorf("PodSecurityPolicy: %+v", psp)
	}
	if inject == nil || inject.Action != restore.ActionFail || !strings.Contains(inject.Reason, "side effects Unknown") {
		t.Errorf("MutatingWebhookConfiguration: %+v", inject)
	}
	if res.Phase != restore.PhasePartiallyFailed {
		t.Errorf("restore phase %s, want PartiallyFailed (the PodSecurityPolicy)", res.Phase)
	}

	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	ing, err := client.NetworkingV1().Ingresses("legacy").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b := ing.Spec.DefaultBackend; b == nil || b.Service == nil || b.Service.Name != "web" || b.Service.Port.Number != 80 {
		t.Errorf("Ingress default backend %+v", ing.Spec.DefaultBackend)
	}
	if p := ing.Spec.Rules[0].HTTP.Paths[0]; p.Backend.Service.Name != "api" || p.Backend.Service.Port.Name != "http" || p.PathType == nil {
		t.Errorf("Ingress path %+v", p)
	}
	hpa, err := client.AutoscalingV2().HorizontalPodAutoscalers("legacy").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := hpa.Spec.Metrics; len(m) != 1 || m[0].Resource == nil || m[0].Resource.Target.AverageUtilization == nil || *m[0].Resource.Target.AverageUtilization != 60 {
		t.Errorf("HPA metrics %+v", hpa.Spec.Metrics)
	}
	if _, err := client.BatchV1().CronJobs("legacy").Get(ctx, "nightly", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	if _, err := client.PolicyV1().PodDisruptionBudgets("legacy").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	hook, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "legacy-policy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := hook.Webhooks[0]; w.FailurePolicy == nil || *w.FailurePolicy != "Ignore" || w.TimeoutSeconds == nil || *w.TimeoutSeconds != 30 {
		t.Errorf("webhook %+v: want v1beta1's defaults, failure policy Ignore and 30 s", w)
	}
	widget, err := objectsOf(t, source).dyn.Resource(schema.GroupVersionResource{Group: "legacy.example", Version: "v1", Resource: "widgets"}).Namespace("legacy").Get(ctx, "gear", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if colour, _, _ := unstructured.NestedString(widget.Object, "spec", "colour"); colour != "teal" {
		t.Errorf("widget spec %v: the field its schema does not list was pruned", widget.Object["spec"])
	}
}

// deleteLegacyClusterObjects deletes the cluster-scoped objects the restore made, which would
// outlive the test in the shared cluster.
func deleteLegacyClusterObjects(t *testing.T) {
	ctx := context.Background()
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	crds := objectsOf(t, source).dyn.Resource(crdsResource)
	for what, err := range map[string]error{
		"CRD":                   crds.Delete(ctx, "widgets.legacy.example", metav1.DeleteOptions{}),
		"webhook configuration": client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, "legacy-policy", metav1.DeleteOptions{}),
	} {
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete the restored %s: %v", what, err)
		}
	}
}

// recordBackup writes the backup name of items into a new repository at dir, as a backup of a
// v1.21 cluster.
func recordBackup(ctx context.Context, t *testing.T, dir, name string, items []recordedItem) {
	t.Helper()
	st, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := archive.Init(ctx, st, archive.Credential{Passphrase: []byte(testPassphrase)}, archive.InitOptions{Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2022, 6, 1, 3, 0, 0, 0, time.UTC)
	res := archive.BackupResult{Phase: archive.PhaseCompleted}
	for _, it := range items {
		if ns := it.key.Namespace; ns != "" && !slices.Contains(res.Namespaces, ns) {
			res.Namespaces = append(res.Namespaces, ns)
		}
		s := w.NewSink()
		if err := s.Add(ctx, it.key, it.namespaced, []byte(it.item)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON([]byte(it.item)); err != nil {
			t.Fatal(err)
		}
		res.Resources = append(res.Resources, archive.ResourceCount{Resource: it.key.GroupResource(), Items: 1})
		res.Items++
	}
	if _, err := w.Commit(ctx, archive.RecoveryPoint{StartedAt: started, CompletedAt: started.Add(time.Minute), CairnVersion: "v0.1.0",
		Cluster: archive.ClusterInfo{Server: "https://old.example:6443", KubernetesVersion: "v1.21.14"},
		Spec:    archive.BackupSpec{IncludeClusterResources: "auto"}, Result: res}); err != nil {
		t.Fatal(err)
	}
}
