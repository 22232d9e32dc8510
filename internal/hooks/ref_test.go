package hooks

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	ns, name, err := ParseRef("default/bkphookname0")
	if err != nil || ns != "default" || name != "bkphookname0" {
		t.Fatalf("ParseRef = %q, %q, %v", ns, name, err)
	}
	for _, bad := range []string{"", "name", "/name", "ns/", "a/b/c"} {
		_, _, err := ParseRef(bad)
		if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) || !strings.Contains(err.Error(), "namespace/name") {
			t.Errorf("ParseRef(%q) error = %v, want one naming the value and the form", bad, err)
		}
	}
}
