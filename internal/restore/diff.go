package restore

import (
	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// diffObjects is a unified diff of two objects as YAML, leaving out what the server keeps for
// itself (identity, bookkeeping, status), so it shows what the restore changes.
func diffObjects(live, desired *unstructured.Unstructured) string {
	a, b := comparable(live), comparable(desired)
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b), FromFile: "live", ToFile: "restored", Context: 2,
	})
	if err != nil {
		return "(diff unavailable: " + err.Error() + ")"
	}
	return d
}

func comparable(obj *unstructured.Unstructured) string {
	c := obj.DeepCopy()
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	data, err := yaml.Marshal(c.Object)
	if err != nil {
		return err.Error()
	}
	return string(data)
}
