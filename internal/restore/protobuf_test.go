package restore

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func configMap(extra map[string]any) *unstructured.Unstructured {
	obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c", "namespace": "shop", "labels": map[string]any{"app": "a"}},
		"data":     map[string]any{"k": "v"}, "binaryData": map[string]any{"b": "AAEC"}}
	for k, v := range extra {
		obj[k] = v
	}
	return &unstructured.Unstructured{Object: obj}
}

// TestProtobufBodies: Kubernetes' own types go as protobuf that decodes to the same object; an
// object with a field cairn's types do not know, a custom resource, and a resource type whose
// server refused protobuf go as JSON.
func TestProtobufBodies(t *testing.T) {
	p := newProtobufBodies()
	body := p.encode(configMapsGVR, configMap(nil))
	if !bytes.HasPrefix(body, []byte("k8s\x00")) {
		t.Fatalf("a ConfigMap's body is not protobuf: %q", body)
	}
	var back corev1.ConfigMap
	if _, _, err := p.serializer.Decode(body, nil, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != "c" || back.Namespace != "shop" || back.Labels["app"] != "a" || back.Data["k"] != "v" || !bytes.Equal(back.BinaryData["b"], []byte{0, 1, 2}) ||
		back.Kind != "ConfigMap" || back.APIVersion != "v1" {
		t.Fatalf("decoded %+v", back)
	}

	if p.encode(configMapsGVR, configMap(map[string]any{"fromTheFuture": true})) != nil {
		t.Error("an object with an unknown field went as protobuf: the field would be lost")
	}
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w"}}}
	if p.encode(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}, widget) != nil {
		t.Error("a custom resource went as protobuf")
	}
	p.refused(configMapsGVR)
	if p.encode(configMapsGVR, configMap(nil)) != nil {
		t.Error("a resource type whose server refused protobuf went as protobuf again")
	}
}

// TestCreatorFallsBackToJSON: a server that answers a protobuf body 415 Unsupported Media Type gets
// the object again as JSON, and from then on JSON alone.
func TestCreatorFallsBackToJSON(t *testing.T) {
	var types []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		types = append(types, ct)
		if strings.Contains(ct, "protobuf") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnsupportedMediaType)
			_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"UnsupportedMediaType","code":415}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"kind":"ConfigMap"`)) {
			t.Errorf("JSON body: %s", body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"c","namespace":"shop","uid":"u-1"}}`)
	}))
	defer srv.Close()
	c, err := newCreator(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		created, err := c.create(context.Background(), configMapsGVR, true, configMap(nil), metav1.CreateOptions{FieldManager: fieldManager})
		if err != nil {
			t.Fatal(err)
		}
		if created.GetUID() != "u-1" {
			t.Fatalf("created %v", created.Object)
		}
	}
	want := []string{runtime.ContentTypeProtobuf, runtime.ContentTypeJSON, runtime.ContentTypeJSON}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("content types sent %v, want %v", types, want)
	}
}

// createAnswer is an apiserver's answer to a ConfigMap's create, managed fields and all.
var createAnswer = []byte(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"c","namespace":"shop",` +
	`"uid":"b583ed2c-b477-4519-8b4c-9383989bf40c","resourceVersion":"42","creationTimestamp":"2026-12-06T21:43:04Z",` +
	`"labels":{"app":"a","tier":"web"},"managedFields":[{"manager":"cairn","operation":"Update","apiVersion":"v1",` +
	`"time":"2026-12-06T21:43:04Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:a":{},"f:b":{}},` +
	`"f:metadata":{"f:labels":{".":{},"f:app":{},"f:tier":{}}}}}]}}`)

// TestCreatedMetadata: the answer to a create, its PartialObjectMetadata or the whole object, gives
// the name, namespace, uid and resourceVersion the apiserver gave the object.
func TestCreatedMetadata(t *testing.T) {
	for name, answer := range map[string][]byte{
		"PartialObjectMetadata": createAnswer,
		"whole object":          []byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","namespace":"shop","uid":"b583ed2c-b477-4519-8b4c-9383989bf40c","resourceVersion":"42"},"data":{"k":"v"}}`),
	} {
		got, err := createdMetadata(answer)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Name != "c" || got.Namespace != "shop" || got.UID != "b583ed2c-b477-4519-8b4c-9383989bf40c" || got.ResourceVersion != "42" {
			t.Errorf("%s: read %+v", name, got)
		}
	}
	if _, err := createdMetadata([]byte(`{"metadata":`)); err == nil {
		t.Error("a cut answer read without error")
	}
}

func BenchmarkCreatedMetadata(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := createdMetadata(createAnswer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreatedMetadataAsMap(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var meta struct {
			Metadata map[string]any `json:"metadata"`
		}
		if err := json.Unmarshal(createAnswer, &meta); err != nil {
			b.Fatal(err)
		}
	}
}
