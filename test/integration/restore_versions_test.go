//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/restore"
)

// oldClusterItems are objects as a Kubernetes 1.21 cluster served them, at versions v1.35 no
// longer serves: each backed-up group's key and its item.
var oldClusterItems = []struct {
	key        archive.GroupKey
	namespaced bool
	item       string
}{
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
	{archive.GroupKey{Group: "policy", Version: "v1beta1", Resource: "podsecuritypolicies", Kind: "PodSecurityPolicy"}, false,
		`{"apiVersion":"policy/v1beta1","kind":"PodSecurityPolicy","metadata":{"name":"restricted"},"spec":{"privileged":false}}`},
}

// TestRestoreConvertsRemovedVersions restores a recorded backup of an old cluster, holding objects
// of versions Kubernetes removed, into the v1.35 control plane: the dry run names each
// conversion first; the restore converts the Ingress, CronJob, PodDisruptionBudget and
// HorizontalPodAutoscaler to versions it serves (fields rewritten where the schemas differ) and
// fails the PodSecurityPolicy, naming what replaced it.
func TestRestoreConvertsRemovedVersions(t *testing.T) {
	ctx := t.Context()
	repoURL := storageURL(t)
	recordOldBackup(ctx, t, strings.TrimPrefix(repoURL, "file://"))

	dry := restoreJSON(t, source, "restore", "create", "legacy-dry", "--from", "old-cluster", "--storage", repoURL, "--dry-run")
	converted := map[string]string{}
	for _, it := range dry.Items {
		if it.Converted != "" {
			converted[it.Resource+"/"+it.Name] = it.Converted
		}
	}
	for item, want := range map[string]string{
		"ingresses.extensions/web":                 "extensions/v1beta1 Ingress → networking.k8s.io/v1",
		"cronjobs.batch/nightly":                   "batch/v1beta1 CronJob → batch/v1",
		"poddisruptionbudgets.policy/web":          "policy/v1beta1 PodDisruptionBudget → policy/v1",
		"horizontalpodautoscalers.autoscaling/web": "autoscaling/v2beta1 HorizontalPodAutoscaler → autoscaling/v2",
	} {
		if converted[item] != want {
			t.Errorf("dry run: %s converted %q, want %q (all: %v)", item, converted[item], want, converted)
		}
	}

	// It exits non-zero: the PodSecurityPolicy would fail.
	out, _, _ := cairn(t, source, "restore", "create", "legacy-dry-2", "--from", "old-cluster", "--storage", repoURL, "--dry-run")
	if !strings.Contains(out, "4 item(s) converted to a version the target serves") || !strings.Contains(out, "converted extensions/v1beta1 Ingress → networking.k8s.io/v1") {
		t.Errorf("dry run output:\n%s", out)
	}

	res := restoreJSON(t, source, "restore", "create", "legacy", "--from", "old-cluster", "--storage", repoURL)
	if res.Counts.Converted != 4 {
		t.Errorf("converted %d items, want 4", res.Counts.Converted)
	}
	var psp *restore.ItemResult
	for i, it := range res.Items {
		if strings.HasPrefix(it.Resource, "podsecuritypolicies") {
			psp = &res.Items[i]
		} else if it.Action == restore.ActionFail {
			t.Errorf("%s %s/%s failed: %s", it.Resource, it.Namespace, it.Name, it.Reason)
		}
	}
	if psp == nil || psp.Action != restore.ActionFail || !strings.Contains(psp.Reason, "Pod Security Admission") {
		t.Errorf("PodSecurityPolicy: %+v", psp)
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
}

// recordOldBackup writes the backup "old-cluster" of oldClusterItems into the repository at dir,
// as a backup of a v1.21 cluster.
func recordOldBackup(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	st, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := archive.Init(ctx, st, archive.Credential{Passphrase: []byte(testPassphrase)}, archive.InitOptions{Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, "old-cluster")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2022, 6, 1, 3, 0, 0, 0, time.UTC)
	res := archive.BackupResult{Phase: archive.PhaseCompleted, Namespaces: []string{"legacy"}}
	for _, it := range oldClusterItems {
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
