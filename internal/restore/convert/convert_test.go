package convert

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// convertJSON converts the object in, of its apiVersion and kind, and returns it as a map.
func convertJSON(t *testing.T, in string) (map[string]any, Conversion, error) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(in)); err != nil {
		t.Fatal(err)
	}
	c, ok := For(obj.GroupVersionKind())
	if !ok {
		t.Fatalf("no conversion for %s", obj.GroupVersionKind())
	}
	err := c.Apply(obj)
	return obj.Object, c, err
}

func want(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return normalize(m).(map[string]any)
}

// normalize makes JSON numbers int64, as unstructured decoding does.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case float64:
		return int64(x)
	}
	return v
}

func TestIngressFromBeta(t *testing.T) {
	got, c, err := convertJSON(t, `{"apiVersion":"extensions/v1beta1","kind":"Ingress","metadata":{"name":"web","namespace":"shop"},
		"spec":{"backend":{"serviceName":"default","servicePort":80},
		"rules":[{"host":"shop.example","http":{"paths":[{"path":"/api","backend":{"serviceName":"api","servicePort":"http"}},
		{"path":"/static","pathType":"Prefix","backend":{"resource":{"apiGroup":"example.com","kind":"Bucket","name":"assets"}}}]}}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != "extensions/v1beta1 Ingress → networking.k8s.io/v1" || c.GroupVersionResource() != (schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}) {
		t.Errorf("conversion %s to %s", c, c.GroupVersionResource())
	}
	if diff := cmp.Diff(want(t, `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web","namespace":"shop"},
		"spec":{"defaultBackend":{"service":{"name":"default","port":{"number":80}}},
		"rules":[{"host":"shop.example","http":{"paths":[
		{"path":"/api","pathType":"ImplementationSpecific","backend":{"service":{"name":"api","port":{"name":"http"}}}},
		{"path":"/static","pathType":"Prefix","backend":{"resource":{"apiGroup":"example.com","kind":"Bucket","name":"assets"}}}]}}]}}`), got); diff != "" {
		t.Errorf("converted Ingress (-want +got):\n%s", diff)
	}
}

func TestHPAFromV2beta1(t *testing.T) {
	got, _, err := convertJSON(t, `{"apiVersion":"autoscaling/v2beta1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"},
		"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":5,"metrics":[
		{"type":"Resource","resource":{"name":"cpu","targetAverageUtilization":70}},
		{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"100"}},
		{"type":"Object","object":{"target":{"apiVersion":"v1","kind":"Service","name":"web"},"metricName":"hits","targetValue":"10k"}},
		{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"jobs"}},"targetAverageValue":"30"}}]},
		"status":{"currentReplicas":2}}`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(t, `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"},
		"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":5,"metrics":[
		{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}},
		{"type":"Pods","pods":{"metric":{"name":"qps"},"target":{"type":"AverageValue","averageValue":"100"}}},
		{"type":"Object","object":{"describedObject":{"apiVersion":"v1","kind":"Service","name":"web"},"metric":{"name":"hits"},"target":{"type":"Value","value":"10k"}}},
		{"type":"External","external":{"metric":{"name":"queue","selector":{"matchLabels":{"q":"jobs"}}},"target":{"type":"AverageValue","averageValue":"30"}}}]}}`), got); diff != "" {
		t.Errorf("converted HPA (-want +got):\n%s", diff)
	}
}

func TestEndpointSliceAndPriorityLevelFromBeta(t *testing.T) {
	got, _, err := convertJSON(t, `{"apiVersion":"discovery.k8s.io/v1beta1","kind":"EndpointSlice","metadata":{"name":"web-x"},"addressType":"IPv4",
		"endpoints":[{"addresses":["10.0.0.1"],"topology":{"topology.kubernetes.io/zone":"a","kubernetes.io/hostname":"n1","rack":"r1"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(t, `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-x"},"addressType":"IPv4",
		"endpoints":[{"addresses":["10.0.0.1"],"zone":"a","nodeName":"n1","deprecatedTopology":{"rack":"r1"}}]}`), got); diff != "" {
		t.Errorf("converted EndpointSlice (-want +got):\n%s", diff)
	}
	got, _, err = convertJSON(t, `{"apiVersion":"flowcontrol.apiserver.k8s.io/v1beta2","kind":"PriorityLevelConfiguration","metadata":{"name":"batch"},
		"spec":{"type":"Limited","limited":{"assuredConcurrencyShares":5,"limitResponse":{"type":"Reject"}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(t, `{"apiVersion":"flowcontrol.apiserver.k8s.io/v1","kind":"PriorityLevelConfiguration","metadata":{"name":"batch"},
		"spec":{"type":"Limited","limited":{"nominalConcurrencyShares":5,"limitResponse":{"type":"Reject"}}}}`), got); diff != "" {
		t.Errorf("converted PriorityLevelConfiguration (-want +got):\n%s", diff)
	}
}

func TestWorkloadsFromBeta(t *testing.T) {
	got, _, err := convertJSON(t, `{"apiVersion":"extensions/v1beta1","kind":"Deployment","metadata":{"name":"web"},
		"spec":{"replicas":2,"rollbackTo":{"revision":3},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
		"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`), got); diff != "" {
		t.Errorf("converted Deployment (-want +got):\n%s", diff)
	}
	for _, plain := range []string{
		`{"apiVersion":"batch/v1beta1","kind":"CronJob","metadata":{"name":"x"}}`,
		`{"apiVersion":"policy/v1beta1","kind":"PodDisruptionBudget","metadata":{"name":"x"}}`,
		`{"apiVersion":"autoscaling/v2beta2","kind":"HorizontalPodAutoscaler","metadata":{"name":"x"}}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1beta1","kind":"ClusterRole","metadata":{"name":"x"}}`,
		`{"apiVersion":"flowcontrol.apiserver.k8s.io/v1beta3","kind":"FlowSchema","metadata":{"name":"x"}}`,
	} {
		got, c, err := convertJSON(t, plain)
		if err != nil || got["apiVersion"] != c.To.GroupVersion().String() || got["kind"] != c.From.Kind {
			t.Errorf("%s: %v %v", plain, got, err)
		}
	}
}

func TestRemovedAndUnconvertible(t *testing.T) {
	_, _, err := convertJSON(t, `{"apiVersion":"policy/v1beta1","kind":"PodSecurityPolicy","metadata":{"name":"restricted"}}`)
	if err == nil || !strings.Contains(err.Error(), "Pod Security Admission") {
		t.Errorf("PodSecurityPolicy: %v", err)
	}
	_, _, err = convertJSON(t, `{"apiVersion":"networking.k8s.io/v1beta1","kind":"Ingress","metadata":{"name":"x"},"spec":{"backend":{"servicePort":80}}}`)
	if err == nil || !strings.Contains(err.Error(), "spec.backend: neither serviceName nor resource") {
		t.Errorf("an Ingress backend without a service: %v", err)
	}
	if _, ok := For(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}); ok {
		t.Error("a served version has a conversion")
	}
}

func TestCRDFromBeta(t *testing.T) {
	got, c, err := convertJSON(t, `{"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"CustomResourceDefinition",
		"metadata":{"name":"widgets.legacy.example"},
		"spec":{"group":"legacy.example","version":"v1","names":{"plural":"widgets","kind":"Widget"},
		"validation":{"openAPIV3Schema":{"type":"object","properties":{"metadata":{"type":"object"},
			"spec":{"type":"object","properties":{"size":{"type":"integer"},"parts":{"type":"array","items":{"type":"object"}}}}}}},
		"subresources":{"status":{}},
		"additionalPrinterColumns":[{"name":"Size","type":"integer","JSONPath":".spec.size"}],
		"conversion":{"strategy":"Webhook","webhookClientConfig":{"url":"https://convert.example/widgets"}}},
		"status":{"acceptedNames":{"kind":"Widget"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != "apiextensions.k8s.io/v1beta1 CustomResourceDefinition → apiextensions.k8s.io/v1" {
		t.Errorf("conversion %s", c)
	}
	wanted := want(t, `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.legacy.example"},
		"spec":{"group":"legacy.example","scope":"Namespaced","names":{"plural":"widgets","kind":"Widget"},
		"versions":[{"name":"v1","served":true,"storage":true,
			"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{"metadata":{"type":"object"},
				"spec":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{"size":{"type":"integer"},
					"parts":{"type":"array","items":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}}},
			"subresources":{"status":{}},
			"additionalPrinterColumns":[{"name":"Size","type":"integer","jsonPath":".spec.size"}]}],
		"conversion":{"strategy":"Webhook","webhook":{"clientConfig":{"url":"https://convert.example/widgets"},"conversionReviewVersions":["v1beta1"]}}}}`)
	if diff := cmp.Diff(wanted, got); diff != "" {
		t.Errorf("converted CRD (-want +got):\n%s", diff)
	}
}

func TestCRDFromBetaVersionsWithoutSchema(t *testing.T) {
	got, _, err := convertJSON(t, `{"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"CustomResourceDefinition",
		"metadata":{"name":"gadgets.legacy.example"},
		"spec":{"group":"legacy.example","scope":"Cluster","preserveUnknownFields":false,"names":{"plural":"gadgets","kind":"Gadget"},
		"versions":[{"name":"v1beta1","served":true,"storage":false},
			{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object"}}}}}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	wanted := want(t, `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"gadgets.legacy.example"},
		"spec":{"group":"legacy.example","scope":"Cluster","names":{"plural":"gadgets","kind":"Gadget"},
		"versions":[{"name":"v1beta1","served":true,"storage":false,
				"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}},
			{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object"}}}}}]}}`)
	if diff := cmp.Diff(wanted, got); diff != "" {
		t.Errorf("converted CRD (-want +got):\n%s", diff)
	}
	if _, _, err := convertJSON(t, `{"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"CustomResourceDefinition",
		"metadata":{"name":"x.legacy.example"},"spec":{"group":"legacy.example"}}`); err == nil || !strings.Contains(err.Error(), "neither spec.versions nor spec.version") {
		t.Errorf("CRD without versions: %v", err)
	}
}

func TestWebhooksFromBeta(t *testing.T) {
	got, _, err := convertJSON(t, `{"apiVersion":"admissionregistration.k8s.io/v1beta1","kind":"ValidatingWebhookConfiguration",
		"metadata":{"name":"policy"},"webhooks":[{"name":"check.policy.example","sideEffects":"None",
		"clientConfig":{"service":{"namespace":"policy","name":"webhook"}},"rules":[{"operations":["CREATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"]}]},
		{"name":"strict.policy.example","sideEffects":"NoneOnDryRun","failurePolicy":"Fail","matchPolicy":"Equivalent","timeoutSeconds":5,
		"admissionReviewVersions":["v1"],"clientConfig":{"url":"https://policy.example/strict"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	wanted := want(t, `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"policy"},
		"webhooks":[{"name":"check.policy.example","sideEffects":"None","failurePolicy":"Ignore","matchPolicy":"Exact","timeoutSeconds":30,
		"admissionReviewVersions":["v1beta1"],"clientConfig":{"service":{"namespace":"policy","name":"webhook"}},
		"rules":[{"operations":["CREATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"]}]},
		{"name":"strict.policy.example","sideEffects":"NoneOnDryRun","failurePolicy":"Fail","matchPolicy":"Equivalent","timeoutSeconds":5,
		"admissionReviewVersions":["v1"],"clientConfig":{"url":"https://policy.example/strict"}}]}`)
	if diff := cmp.Diff(wanted, got); diff != "" {
		t.Errorf("converted webhooks (-want +got):\n%s", diff)
	}

	for effects, named := range map[string]string{`"sideEffects":"Unknown",`: "side effects Unknown", ``: "Unknown (v1beta1's default)", `"sideEffects":"Some",`: "side effects Some"} {
		_, _, err := convertJSON(t, `{"apiVersion":"admissionregistration.k8s.io/v1beta1","kind":"MutatingWebhookConfiguration",
			"metadata":{"name":"inject"},"webhooks":[{"name":"inject.example",`+effects+`"clientConfig":{"url":"https://inject.example"}}]}`)
		if err == nil || !strings.Contains(err.Error(), named) || !strings.Contains(err.Error(), "None or NoneOnDryRun") {
			t.Errorf("side effects %q: %v", effects, err)
		}
	}
}
