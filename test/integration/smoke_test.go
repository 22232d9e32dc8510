//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

// TestSmokeCoreObjects proves the apiserver is real: objects written come back as written.
func TestSmokeCoreObjects(t *testing.T) {
	ctx := t.Context()
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke", Labels: map[string]string{"app": "smoke"}}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "smoke"}, Data: map[string]string{"mode": "fast"}}
	if _, err := client.CoreV1().ConfigMaps("smoke").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "smoke"}, Data: map[string][]byte{"password": []byte("s3cr3t\x00bytes")}}
	if _, err := client.CoreV1().Secrets("smoke").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	gotNS, err := client.CoreV1().Namespaces().Get(ctx, "smoke", metav1.GetOptions{})
	if err != nil || gotNS.Labels["app"] != "smoke" {
		t.Fatalf("namespace read back = %v, %v", gotNS, err)
	}
	gotCM, err := client.CoreV1().ConfigMaps("smoke").Get(ctx, "settings", metav1.GetOptions{})
	if err != nil || gotCM.Data["mode"] != "fast" {
		t.Fatalf("configmap read back = %v, %v", gotCM, err)
	}
	gotSecret, err := client.CoreV1().Secrets("smoke").Get(ctx, "creds", metav1.GetOptions{})
	if err != nil || string(gotSecret.Data["password"]) != "s3cr3t\x00bytes" {
		t.Fatalf("secret read back = %v, %v", gotSecret, err)
	}
}

// TestSmokeCustomResource registers a CRD, waits until it is served, and round-trips one object.
func TestSmokeCustomResource(t *testing.T) {
	ctx := t.Context()
	cfg, err := source.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	ext := apiextensionsclient.NewForConfigOrDie(cfg)
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"size":  {Type: "integer"},
							"color": {Type: "string"},
						}},
					},
				}},
			}},
		},
	}
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitEstablished(ctx, ext, crd.Name); err != nil {
		t.Fatal(err)
	}

	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "widgets"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	gvr := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	widget := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "blue", "namespace": "widgets"},
		"spec":     map[string]any{"size": int64(3), "color": "blue"},
	}}
	// The CRD is Established, but the dynamic client's first request may still race discovery.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(gvr).Namespace("widgets").Create(ctx, widget, metav1.CreateOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("create widget: %v", err)
	}
	got, err := dyn.Resource(gvr).Namespace("widgets").Get(ctx, "blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	size, _, _ := unstructured.NestedInt64(got.Object, "spec", "size")
	color, _, _ := unstructured.NestedString(got.Object, "spec", "color")
	if size != 3 || color != "blue" {
		t.Fatalf("widget read back with spec %v", got.Object["spec"])
	}
}

func waitEstablished(ctx context.Context, ext apiextensionsclient.Interface, name string) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		crd, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}
