package convert

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

// crdFromBeta turns an apiextensions.k8s.io/v1beta1 CustomResourceDefinition into a v1 one, as the
// apiserver's own conversion did while both were served: the single spec.version becomes a
// versions entry; the CRD-wide validation, subresources and printer columns move into every
// version (JSONPath becomes jsonPath); the conversion webhook's client config moves under
// conversion.webhook, with the review versions v1beta1 defaulted. v1 requires a schema and no
// longer keeps unknown fields by default (v1beta1's preserveUnknownFields, true unless set false):
// a version without a schema gets one that keeps everything, and one whose CRD kept unknown fields
// keeps them at every object of its schema, so that restored custom resources lose nothing. A
// schema v1 refuses as not structural is refused by the target, with its reason.
func crdFromBeta(obj map[string]any) error {
	delete(obj, "status")
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return fmt.Errorf("no spec")
	}
	versions, _ := spec["versions"].([]any)
	if len(versions) == 0 {
		name, _ := spec["version"].(string)
		if name == "" {
			return fmt.Errorf("neither spec.versions nor spec.version")
		}
		versions = []any{map[string]any{"name": name, "served": true, "storage": true}}
	}
	preserve := true
	if p, ok := spec["preserveUnknownFields"].(bool); ok {
		preserve = p
	}
	for i, v := range versions {
		version, _ := v.(map[string]any)
		if version == nil {
			return fmt.Errorf("spec.versions[%d] is not an object", i)
		}
		if err := crdVersionFromBeta(version, spec, preserve); err != nil {
			return fmt.Errorf("spec.versions[%d]: %w", i, err)
		}
	}
	spec["versions"] = versions
	for _, f := range []string{"version", "validation", "subresources", "additionalPrinterColumns", "preserveUnknownFields"} {
		delete(spec, f)
	}
	if _, ok := spec["scope"]; !ok {
		spec["scope"] = "Namespaced"
	}
	if conv, ok := spec["conversion"].(map[string]any); ok {
		crdConversionFromBeta(conv)
	}
	return nil
}

// crdVersionFromBeta fills one version with what v1beta1 let the CRD declare for all of them.
func crdVersionFromBeta(version, spec map[string]any, preserve bool) error {
	if _, ok := version["schema"]; !ok {
		if validation, ok := spec["validation"]; ok {
			version["schema"] = runtime.DeepCopyJSONValue(validation)
		}
	}
	if _, ok := version["subresources"]; !ok {
		if sub, ok := spec["subresources"]; ok {
			version["subresources"] = runtime.DeepCopyJSONValue(sub)
		}
	}
	columns, _ := version["additionalPrinterColumns"].([]any)
	if _, ok := version["additionalPrinterColumns"]; !ok {
		columns, _ = runtime.DeepCopyJSONValue(spec["additionalPrinterColumns"]).([]any)
	}
	for _, c := range columns {
		if col, ok := c.(map[string]any); ok {
			if path, ok := col["JSONPath"]; ok {
				col["jsonPath"] = path
				delete(col, "JSONPath")
			}
		}
	}
	if len(columns) > 0 {
		version["additionalPrinterColumns"] = columns
	}
	schema, _ := version["schema"].(map[string]any)
	root, _ := schema["openAPIV3Schema"].(map[string]any)
	if root == nil {
		version["schema"] = map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
		return nil
	}
	if preserve {
		preserveUnknownFields(root, true)
	}
	return nil
}

// preserveUnknownFields marks every object of a schema as keeping the fields it does not list;
// the root's metadata is left alone (v1 allows nothing there but name restrictions).
func preserveUnknownFields(s map[string]any, root bool) {
	if s["type"] == "object" || s["properties"] != nil {
		if _, set := s["x-kubernetes-preserve-unknown-fields"]; !set {
			s["x-kubernetes-preserve-unknown-fields"] = true
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok && (!root || name != "metadata") {
				preserveUnknownFields(ps, false)
			}
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if sub, ok := s[key].(map[string]any); ok {
			preserveUnknownFields(sub, false)
		}
	}
}

// crdConversionFromBeta moves webhookClientConfig and conversionReviewVersions under webhook.
func crdConversionFromBeta(conv map[string]any) {
	cfg, hasCfg := conv["webhookClientConfig"]
	reviews, hasReviews := conv["conversionReviewVersions"]
	delete(conv, "webhookClientConfig")
	delete(conv, "conversionReviewVersions")
	if conv["strategy"] != "Webhook" {
		return
	}
	if !hasReviews {
		reviews = []any{"v1beta1"}
	}
	webhook := map[string]any{"conversionReviewVersions": reviews}
	if hasCfg {
		webhook["clientConfig"] = cfg
	}
	conv["webhook"] = webhook
}
