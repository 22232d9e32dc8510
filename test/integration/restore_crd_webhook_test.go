//go:build integration

package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/restore"
)

// gizmoItems are custom resources of convert.example/v1, a version the CRD of the target no
// longer has: its conversion webhook still converts them (spec.colour became spec.color in v2),
// except the one it refuses.
var gizmoItems = []recordedItem{
	{archive.GroupKey{Version: "v1", Resource: "namespaces", Kind: "Namespace"}, false,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"gizmo-legacy"}}`},
	{archive.GroupKey{Group: "convert.example", Version: "v1", Resource: "gizmos", Kind: "Gizmo", Namespace: "gizmo-legacy"}, true,
		`{"apiVersion":"convert.example/v1","kind":"Gizmo","metadata":{"name":"red","namespace":"gizmo-legacy"},"spec":{"colour":"red"}}`},
	{archive.GroupKey{Group: "convert.example", Version: "v1", Resource: "gizmos", Kind: "Gizmo", Namespace: "gizmo-legacy"}, true,
		`{"apiVersion":"convert.example/v1","kind":"Gizmo","metadata":{"name":"broken","namespace":"gizmo-legacy"},"spec":{"colour":"none"}}`},
}

// TestRestoreConvertsThroughCRDWebhook restores custom resources of a version their CRD no longer
// serves into a cluster whose CRD converts by a webhook: the restore sends them through the
// webhook (the dry run first, naming the conversion), restores what it returns, and fails the
// object the webhook refuses with its message.
func TestRestoreConvertsThroughCRDWebhook(t *testing.T) {
	ctx := t.Context()
	var calls atomic.Int64
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var review map[string]any
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": review["apiVersion"], "kind": "ConversionReview",
			"response": convertGizmos(review["request"].(map[string]any))})
	}))
	t.Cleanup(hook.Close)
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hook.Certificate().Raw})
	createGizmoCRD(ctx, t, hook.URL+"/convert", caBundle)

	repoURL := storageURL(t)
	recordBackup(ctx, t, strings.TrimPrefix(repoURL, "file://"), "gizmos", gizmoItems)
	t.Cleanup(func() { deleteNamespaceOf(t, "gizmo-legacy") })

	dry := restoreJSON(t, source, "restore", "create", "gizmos-dry", "--from", "gizmos", "--storage", repoURL, "--dry-run")
	const how = "convert.example/v1 Gizmo → convert.example/v2 (by its CRD's conversion webhook)"
	if it := itemNamed(dry, "red"); it == nil || it.Converted != how {
		t.Errorf("dry run: red %+v, want converted %q", it, how)
	}
	if calls.Load() == 0 {
		t.Error("the dry run did not call the conversion webhook")
	}

	res := restoreJSON(t, source, "restore", "create", "gizmos", "--from", "gizmos", "--storage", repoURL)
	if it := itemNamed(res, "red"); it == nil || it.Action != restore.ActionCreate || it.Converted != how {
		t.Errorf("restore: red %+v", it)
	}
	if it := itemNamed(res, "broken"); it == nil || it.Action != restore.ActionFail || !strings.Contains(it.Reason, "it refused: no colour none in v2") {
		t.Errorf("restore: broken %+v, want it failed with the webhook's message", it)
	}
	gizmo, err := objectsOf(t, source).dyn.Resource(gizmoResource).Namespace("gizmo-legacy").
		Get(ctx, "red", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if color, _, _ := unstructured.NestedString(gizmo.Object, "spec", "color"); color != "red" {
		t.Errorf("restored gizmo spec %v, want color red", gizmo.Object["spec"])
	}
}

// gizmoResource is the v2 Gizmo's CRD resource.
var gizmoResource = schema.GroupVersionResource{Group: "convert.example", Version: "v2", Resource: "gizmos"}

// crdsResource is where CRDs are.
var crdsResource = apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// convertGizmos is the conversion webhook's work: v1's spec.colour is v2's spec.color.
func convertGizmos(req map[string]any) map[string]any {
	var out []any
	for _, o := range req["objects"].([]any) {
		obj := o.(map[string]any)
		spec, _ := obj["spec"].(map[string]any)
		if spec["colour"] == "none" {
			return map[string]any{"uid": req["uid"], "result": map[string]any{"status": "Failure", "message": "no colour none in v2"}}
		}
		if c, ok := spec["colour"]; ok {
			spec["color"] = c
			delete(spec, "colour")
		}
		obj["apiVersion"] = req["desiredAPIVersion"]
		out = append(out, obj)
	}
	return map[string]any{"uid": req["uid"], "convertedObjects": out, "result": map[string]any{"status": "Success"}}
}

// createGizmoCRD creates the CRD of Gizmos, serving v2 alone and converting by the webhook at url,
// and waits until it is established; it is deleted when the test ends.
func createGizmoCRD(ctx context.Context, t *testing.T, url string, caBundle []byte) {
	t.Helper()
	dyn := objectsOf(t, source).dyn
	crds := dyn.Resource(crdsResource)
	crd := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "gizmos.convert.example"},
		"spec": map[string]any{"group": "convert.example", "scope": "Namespaced",
			"names": map[string]any{"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
			"versions": []any{map[string]any{"name": "v2", "served": true, "storage": true, "schema": map[string]any{"openAPIV3Schema": map[string]any{
				"type": "object", "properties": map[string]any{"spec": map[string]any{"type": "object", "properties": map[string]any{
					"color": map[string]any{"type": "string"}}}}}}}},
			"conversion": map[string]any{"strategy": "Webhook", "webhook": map[string]any{"conversionReviewVersions": []any{"v1"},
				"clientConfig": map[string]any{"url": url, "caBundle": base64.StdEncoding.EncodeToString(caBundle)}}}}}}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = crds.Delete(context.Background(), "gizmos.convert.example", metav1.DeleteOptions{}) })
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(gizmoResource).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the Gizmo CRD is not served: %v", err)
	}
}

// itemNamed is the result's item of that name.
func itemNamed(res restore.Result, name string) *restore.ItemResult {
	for i, it := range res.Items {
		if it.Name == name {
			return &res.Items[i]
		}
	}
	return nil
}

// deleteNamespaceOf deletes a namespace a test restored into.
func deleteNamespaceOf(t *testing.T, ns string) {
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	_ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
}
