package v1alpha1

import (
	"strings"
	"testing"
)

func TestParseHookRef(t *testing.T) {
	ns, name, err := ParseHookRef("default/bkphookname0")
	if err != nil || ns != "default" || name != "bkphookname0" {
		t.Fatalf("ParseHookRef = %q, %q, %v", ns, name, err)
	}
	for _, bad := range []string{"", "name", "/name", "ns/", "a/b/c"} {
		_, _, err := ParseHookRef(bad)
		if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) || !strings.Contains(err.Error(), "namespace/name") {
			t.Errorf("ParseHookRef(%q) error = %v, want one naming the value and the form", bad, err)
		}
	}
}
