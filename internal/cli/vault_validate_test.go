package cli

import (
	"strings"
	"testing"
)

// TestInstanceValidateAndTestRestore: creating an instance queues its validation, validate queues
// another, show prints both; a test restore of an instance without a good recovery point is
// refused with what to do.
func TestInstanceValidateAndTestRestore(t *testing.T) {
	v := startTestVault(t)
	v.protect(t, "prod", "shop")
	if out := v.ok(t, "instance", "validate", "shop"); !regexpLine(out, `queued validate job 2 of instance "shop" in cluster prod; follow it: cairn job logs 2 --follow`) {
		t.Errorf("validate: %s", out)
	}
	out := v.ok(t, "instance", "show", "shop")
	if !regexpLine(out, `  validation:      queued \(job 2\)`) || !regexpLine(out, `  last test restore: none yet \(cairn instance test-restore\)`) {
		t.Errorf("show:\n%s", out)
	}
	v.fails(t, `instance "shop" has no good recovery point to test-restore: back it up first`, "instance", "test-restore", "shop")
	if out := v.ok(t, "job", "list", "--kind", "validate"); strings.Count(out, "validate") < 2 {
		t.Errorf("validate jobs:\n%s", out)
	}
}
