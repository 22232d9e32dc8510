package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// applyTimeout bounds how long ApplyManifests keeps retrying one object whose kind is not yet
// served (a custom resource right after its CRD) or whose create hits a transient admission error,
// and how long it waits for a CRD to become established.
const applyTimeout = 30 * time.Second

// ReadManifests reads every *.yaml file in dir in file-name order and returns the objects of all
// their YAML documents, in order. Empty and comment-only documents are skipped. Every object must
// have apiVersion, kind and metadata.name. Errors name the file and the document's 1-based index.
func ReadManifests(dir string) ([]*unstructured.Unstructured, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list manifests in %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.yaml manifests in %s", dir)
	}
	sort.Strings(paths)
	var objs []*unstructured.Unstructured
	for _, path := range paths {
		fileObjs, err := readManifestFile(path)
		if err != nil {
			return nil, err
		}
		objs = append(objs, fileObjs...)
	}
	return objs, nil
}

func readManifestFile(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, n, err)
		}
		obj, err := decodeManifest(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, n, err)
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
}

// decodeManifest decodes one YAML document, returning nil for an empty one.
func decodeManifest(doc []byte) (*unstructured.Unstructured, error) {
	js, err := utilyaml.ToJSON(doc)
	if err != nil {
		return nil, err
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || string(js) == "null" {
		return nil, nil
	}
	if js[0] != '{' {
		return nil, errors.New("document is not a YAML mapping")
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return nil, err
	}
	var missing []string
	if obj.GetAPIVersion() == "" {
		missing = append(missing, "apiVersion")
	}
	if obj.GetKind() == "" {
		missing = append(missing, "kind")
	}
	if obj.GetName() == "" {
		missing = append(missing, "metadata.name")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s %q: missing %s", obj.GetKind(), obj.GetName(), strings.Join(missing, ", "))
	}
	return obj, nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// ApplyManifests creates objs in order with plain creates, as kubectl create would. Kinds are
// resolved through discovery; a kind the server does not serve yet (a custom resource whose CRD
// was just created) is retried for up to 30 seconds. After creating a CustomResourceDefinition it
// waits until the CRD is established. Namespaced objects without a namespace go to "default".
// Unknown fields are errors (strict field validation). It stops at the first error, which names the
// object. objs are not modified.
func ApplyManifests(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		// client-go's default of 5 requests a second would spend most of the time waiting.
		cfg.QPS, cfg.Burst = 100, 200
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	for _, obj := range objs {
		created, err := createManifest(ctx, dyn, mapper, obj)
		if err != nil {
			return fmt.Errorf("create %s: %w", describeManifest(created), err)
		}
		if created.GroupVersionKind().GroupKind() == (schema.GroupKind{Group: crdGVR.Group, Kind: "CustomResourceDefinition"}) {
			if err := waitCRDEstablished(ctx, dyn, created.GetName()); err != nil {
				return fmt.Errorf("create %s: %w", describeManifest(created), err)
			}
			mapper.Reset()
		}
	}
	return nil
}

// createManifest creates a copy of obj, retrying while its kind is unknown or the server answers
// with a transient error. It returns the copy (with its namespace defaulted) for error messages.
func createManifest(ctx context.Context, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	obj = obj.DeepCopy()
	gvk := obj.GroupVersionKind()
	deadline := time.Now().Add(applyTimeout)
	for {
		err := func() error {
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				if meta.IsNoMatchError(err) {
					mapper.Reset()
				}
				return err
			}
			var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
			if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
				if obj.GetNamespace() == "" {
					obj.SetNamespace(metav1.NamespaceDefault)
				}
				ri = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
			} else if obj.GetNamespace() != "" {
				return fmt.Errorf("%s is cluster-scoped but has namespace %q", gvk.Kind, obj.GetNamespace())
			}
			_, err = ri.Create(ctx, obj, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
			return err
		}()
		if err == nil {
			return obj, nil
		}
		if !retryableCreateError(err) || time.Now().After(deadline) {
			return obj, err
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return obj, err
		}
	}
}

// retryableCreateError reports whether a create may succeed if tried again shortly: the kind is
// not served yet, the resource path is not served yet (a CRD just established), or an admission
// plugin is waiting for a controller (the quota controller's first status, a namespace's default
// service account).
func retryableCreateError(err error) bool {
	switch {
	case meta.IsNoMatchError(err):
		return true
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsServiceUnavailable(err):
		return true
	case apierrors.IsNotFound(err):
		// A missing namespace is an ordering mistake in the manifests, not a passing state.
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			if d := status.Status().Details; d != nil && d.Kind == "namespaces" {
				return false
			}
		}
		return true
	case apierrors.IsForbidden(err):
		msg := err.Error()
		return strings.Contains(msg, "status unknown for quota") ||
			strings.Contains(msg, "error looking up service account")
	}
	return false
}

// waitCRDEstablished waits until the named CRD's Established condition is True, failing early if
// its names are rejected.
func waitCRDEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	deadline := time.Now().Add(applyTimeout)
	var last string
	for {
		crd, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
		} else {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			last = "no Established condition yet"
			for _, c := range conds {
				cond, ok := c.(map[string]interface{})
				if !ok {
					continue
				}
				typ, _ := cond["type"].(string)
				status, _ := cond["status"].(string)
				msg, _ := cond["message"].(string)
				switch {
				case typ == "Established" && status == "True":
					return nil
				case typ == "Established":
					last = fmt.Sprintf("Established=%s: %s", status, msg)
				case typ == "NamesAccepted" && status == "False":
					return fmt.Errorf("CRD names not accepted: %s", msg)
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CRD not established after %s: %s", applyTimeout, last)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// describeManifest names an object as "Kind namespace/name", or "Kind name" without a namespace.
func describeManifest(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
}
