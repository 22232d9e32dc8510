package convert

import (
	"fmt"
)

// webhooksFromBeta turns admissionregistration.k8s.io/v1beta1 webhook configurations into v1
// ones. The schemas are the same but for defaults, so each default v1beta1 gave a field v1
// defaults otherwise is written down: failurePolicy Ignore, matchPolicy Exact, timeoutSeconds 30,
// admissionReviewVersions [v1beta1]. v1 accepts only side effects None or NoneOnDryRun: a webhook
// declaring Unknown or Some (v1beta1's default: Unknown) cannot be restored as it was.
func webhooksFromBeta(obj map[string]any) error {
	webhooks, _ := obj["webhooks"].([]any)
	for i, w := range webhooks {
		hook, _ := w.(map[string]any)
		if hook == nil {
			return fmt.Errorf("webhooks[%d] is not an object", i)
		}
		for field, value := range map[string]any{"failurePolicy": "Ignore", "matchPolicy": "Exact", "timeoutSeconds": int64(30),
			"admissionReviewVersions": []any{"v1beta1"}} {
			if _, ok := hook[field]; !ok {
				hook[field] = value
			}
		}
		switch effects, _ := hook["sideEffects"].(string); effects {
		case "None", "NoneOnDryRun":
		default:
			if effects == "" {
				effects = "Unknown (v1beta1's default)"
			}
			return fmt.Errorf("webhook %q declares side effects %s, and admissionregistration.k8s.io/v1 accepts only None or NoneOnDryRun: "+
				"once its server makes no side effects on dry-run requests, create the configuration again with sideEffects set", hook["name"], effects)
		}
	}
	return nil
}
