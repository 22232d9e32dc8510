package restore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// crdWebhookTimeout bounds one call of a CRD's conversion webhook (the apiserver's own bound).
const crdWebhookTimeout = 30 * time.Second

// crdWebhook is how the target's CRD of a custom resource converts between its versions: its
// conversion webhook, or nil when the CRD has none (or the resource has no CRD).
type crdWebhook struct {
	client rest.Interface // the webhook's server, or the apiserver proxying to its service
	path   string
	review string // the ConversionReview version it accepts: "v1" or "v1beta1"
}

// convertByCRD sends a custom resource backed up at a version the target no longer serves through
// its CRD's conversion webhook, to version `to`, as the apiserver would have converted it while the
// old version was served; it says how the object was converted. A resource whose CRD converts
// nothing itself (strategy None, or a built-in resource) goes to `to` with its fields as they are.
func (r *run) convertByCRD(ctx context.Context, from, to schema.GroupVersionResource, obj *unstructured.Unstructured) (string, error) {
	hook, err := r.crdWebhookOf(ctx, to.GroupResource())
	if err != nil {
		return "", err
	}
	if hook == nil {
		obj.SetAPIVersion(to.GroupVersion().String())
		return fmt.Sprintf("fields as they are: the target does not serve %s", from.Version), nil
	}
	converted, err := hook.convert(ctx, obj, to.GroupVersion().String())
	if err != nil {
		return "", fmt.Errorf("convert %s to %s through the conversion webhook of CRD %s: %w", from.GroupVersion(), to.Version, to.GroupResource(), err)
	}
	obj.Object = converted.Object
	return "by its CRD's conversion webhook", nil
}

// crdWebhookOf reads (once per restore) the conversion webhook of the target's CRD of gr.
func (r *run) crdWebhookOf(ctx context.Context, gr schema.GroupResource) (*crdWebhook, error) {
	r.mu.Lock()
	hook, known := r.crdWebhooks[gr]
	r.mu.Unlock()
	if known {
		return hook, nil
	}
	u, err := r.dyn.Resource(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")).Get(ctx, gr.String(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// a built-in resource: no CRD, no webhook
	case err != nil:
		return nil, fmt.Errorf("read the CRD %s: %w", gr, err)
	default:
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
			return nil, fmt.Errorf("decode the CRD %s: %w", gr, err)
		}
		if hook, err = webhookOf(crd, r.client.CoreV1().RESTClient()); err != nil {
			return nil, fmt.Errorf("CRD %s: %w", gr, err)
		}
	}
	r.mu.Lock()
	r.crdWebhooks[gr] = hook
	r.mu.Unlock()
	return hook, nil
}

// webhookOf is the CRD's conversion webhook, reached at its URL, or at its in-cluster service
// through the apiserver's service proxy (which reaches the cluster network from anywhere the
// apiserver is reachable); nil if the CRD has none.
func webhookOf(crd apiextensionsv1.CustomResourceDefinition, apiserver rest.Interface) (*crdWebhook, error) {
	conv := crd.Spec.Conversion
	if conv == nil || conv.Strategy != apiextensionsv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil {
		return nil, nil
	}
	hook := &crdWebhook{}
	for _, v := range []string{"v1", "v1beta1"} {
		if slices.Contains(conv.Webhook.ConversionReviewVersions, v) {
			hook.review = v
			break
		}
	}
	if hook.review == "" {
		return nil, fmt.Errorf("its conversion webhook accepts ConversionReview versions %v, and cairn speaks v1 and v1beta1", conv.Webhook.ConversionReviewVersions)
	}
	cfg := conv.Webhook.ClientConfig
	switch {
	case cfg.Service != nil:
		svc := cfg.Service
		port := int32(443)
		if svc.Port != nil {
			port = *svc.Port
		}
		hook.client = apiserver
		hook.path = "/api/v1/namespaces/" + svc.Namespace + "/services/https:" + svc.Name + ":" + strconv.Itoa(int(port)) + "/proxy"
		if svc.Path != nil {
			hook.path += *svc.Path
		}
	case cfg.URL != nil:
		u, err := url.Parse(*cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("its conversion webhook's URL: %w", err)
		}
		client, err := rest.UnversionedRESTClientFor(&rest.Config{Host: u.Scheme + "://" + u.Host, APIPath: "/",
			TLSClientConfig: rest.TLSClientConfig{CAData: cfg.CABundle},
			ContentConfig:   rest.ContentConfig{NegotiatedSerializer: scheme.Codecs.WithoutConversion()}})
		if err != nil {
			return nil, fmt.Errorf("its conversion webhook at %s: %w", *cfg.URL, err)
		}
		hook.client, hook.path = client, u.Path
	default:
		return nil, errors.New("its conversion webhook's client config names neither a URL nor a service")
	}
	return hook, nil
}

// convert sends obj to the webhook and returns what it made of it, checked the way the apiserver
// checks it: one object, of the desired version, with the same kind, name and namespace. Both
// versions of ConversionReview have the fields of v1.
func (h *crdWebhook) convert(ctx context.Context, obj *unstructured.Unstructured, desired string) (*unstructured.Unstructured, error) {
	raw, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	review := apiextensionsv1.ConversionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/" + h.review, Kind: "ConversionReview"},
		Request: &apiextensionsv1.ConversionRequest{UID: types.UID(rand.Text()), DesiredAPIVersion: desired,
			Objects: []runtime.RawExtension{{Raw: raw}}}}
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, crdWebhookTimeout)
	defer cancel()
	answer, err := h.client.Post().AbsPath(h.path).SetHeader("Content-Type", "application/json").Body(body).DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var got apiextensionsv1.ConversionReview
	if err := json.Unmarshal(answer, &got); err != nil {
		return nil, fmt.Errorf("its answer is not a ConversionReview: %w", err)
	}
	res := got.Response
	switch {
	case res == nil:
		return nil, errors.New("its answer holds no response")
	case res.UID != review.Request.UID:
		return nil, fmt.Errorf("its answer is to request %q, not %q", res.UID, review.Request.UID)
	case res.Result.Status != metav1.StatusSuccess:
		return nil, fmt.Errorf("it refused: %s", res.Result.Message)
	case len(res.ConvertedObjects) != 1:
		return nil, fmt.Errorf("it returned %d objects for 1", len(res.ConvertedObjects))
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(res.ConvertedObjects[0].Raw); err != nil {
		return nil, fmt.Errorf("the object it returned: %w", err)
	}
	if out.GetAPIVersion() != desired || out.GetKind() != obj.GetKind() || out.GetName() != obj.GetName() || out.GetNamespace() != obj.GetNamespace() {
		return nil, fmt.Errorf("it returned %s %s %s/%s for %s %s/%s at %s", out.GetAPIVersion(), out.GetKind(), out.GetNamespace(), out.GetName(),
			obj.GetKind(), obj.GetNamespace(), obj.GetName(), desired)
	}
	return out, nil
}
