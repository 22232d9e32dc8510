package restore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// crdWebhookTimeout bounds one call of a CRD's conversion webhook (the apiserver's own bound).
const crdWebhookTimeout = 30 * time.Second

// crdWebhook is how the target's CRD of a custom resource converts between its versions: its
// conversion webhook, or nil when the CRD has none (or the resource has no CRD).
type crdWebhook struct {
	clientConfig apiextensionsv1.WebhookClientConfig
	review       string // the ConversionReview version it accepts: "v1" or "v1beta1"
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
	converted, err := hook.convert(ctx, r, obj, to.GroupVersion().String())
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
		if hook, err = webhookOf(crd); err != nil {
			return nil, fmt.Errorf("CRD %s: %w", gr, err)
		}
	}
	r.mu.Lock()
	r.crdWebhooks[gr] = hook
	r.mu.Unlock()
	return hook, nil
}

func webhookOf(crd apiextensionsv1.CustomResourceDefinition) (*crdWebhook, error) {
	conv := crd.Spec.Conversion
	if conv == nil || conv.Strategy != apiextensionsv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil {
		return nil, nil
	}
	hook := &crdWebhook{clientConfig: *conv.Webhook.ClientConfig}
	for _, v := range []string{"v1", "v1beta1"} {
		if slices.Contains(conv.Webhook.ConversionReviewVersions, v) {
			hook.review = v
			break
		}
	}
	if hook.review == "" {
		return nil, fmt.Errorf("its conversion webhook accepts ConversionReview versions %v, and cairn speaks v1 and v1beta1", conv.Webhook.ConversionReviewVersions)
	}
	return hook, nil
}

// conversionReview is a ConversionReview of either version: they have the same fields.
type conversionReview struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    *struct {
		UID               string            `json:"uid"`
		DesiredAPIVersion string            `json:"desiredAPIVersion"`
		Objects           []json.RawMessage `json:"objects"`
	} `json:"request,omitempty"`
	Response *struct {
		UID              string            `json:"uid"`
		ConvertedObjects []json.RawMessage `json:"convertedObjects"`
		Result           metav1.Status     `json:"result"`
	} `json:"response,omitempty"`
}

// convert sends obj to the webhook and returns what it made of it, checked the way the apiserver
// checks it: one object, of the desired version, with the same kind, name and namespace.
func (h *crdWebhook) convert(ctx context.Context, r *run, obj *unstructured.Unstructured, desired string) (*unstructured.Unstructured, error) {
	raw, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	review := conversionReview{APIVersion: "apiextensions.k8s.io/" + h.review, Kind: "ConversionReview"}
	review.Request = &struct {
		UID               string            `json:"uid"`
		DesiredAPIVersion string            `json:"desiredAPIVersion"`
		Objects           []json.RawMessage `json:"objects"`
	}{UID: rand.Text(), DesiredAPIVersion: desired, Objects: []json.RawMessage{raw}}
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, crdWebhookTimeout)
	defer cancel()
	answer, err := h.post(ctx, r, body)
	if err != nil {
		return nil, err
	}
	var got conversionReview
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
	if err := out.UnmarshalJSON(res.ConvertedObjects[0]); err != nil {
		return nil, fmt.Errorf("the object it returned: %w", err)
	}
	if out.GetAPIVersion() != desired || out.GetKind() != obj.GetKind() || out.GetName() != obj.GetName() || out.GetNamespace() != obj.GetNamespace() {
		return nil, fmt.Errorf("it returned %s %s %s/%s for %s %s/%s at %s", out.GetAPIVersion(), out.GetKind(), out.GetNamespace(), out.GetName(),
			obj.GetKind(), obj.GetNamespace(), obj.GetName(), desired)
	}
	return out, nil
}

// post calls the webhook: at its URL, or at its in-cluster service through the apiserver's service
// proxy (which reaches the cluster network from anywhere the apiserver is reachable).
func (h *crdWebhook) post(ctx context.Context, r *run, body []byte) ([]byte, error) {
	cfg := h.clientConfig
	if svc := cfg.Service; svc != nil {
		port := int32(443)
		if svc.Port != nil {
			port = *svc.Port
		}
		path := "/api/v1/namespaces/" + svc.Namespace + "/services/https:" + svc.Name + ":" + strconv.Itoa(int(port)) + "/proxy"
		if svc.Path != nil {
			path += *svc.Path
		}
		out, err := r.client.CoreV1().RESTClient().Post().AbsPath(path).SetHeader("Content-Type", "application/json").Body(body).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("call service %s/%s through the apiserver: %w", svc.Namespace, svc.Name, err)
		}
		return out, nil
	}
	if cfg.URL == nil {
		return nil, errors.New("its client config names neither a URL nor a service")
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cfg.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CABundle) {
			return nil, errors.New("its caBundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, Proxy: http.ProxyFromEnvironment}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("it answered %s: %s", resp.Status, bytes.TrimSpace(out[:min(len(out), 512)]))
	}
	return out, nil
}
