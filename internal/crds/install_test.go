package crds

import "testing"

func TestEmbeddedCRDsAreTheHookKinds(t *testing.T) {
	crds, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, c := range crds {
		if c.Spec.Group != "clusterbackup.dataprotection.microsoft.com" {
			t.Errorf("%s: group %s", c.Name, c.Spec.Group)
		}
		kinds[c.Spec.Names.Kind] = true
	}
	if len(crds) != 2 || !kinds["BackupHook"] || !kinds["RestoreHook"] {
		t.Fatalf("embedded kinds: %v", kinds)
	}
}
