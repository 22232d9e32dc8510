package snapshot

import (
	"strings"
	"testing"
)

func TestPolicyDecidesFirstMatchingRule(t *testing.T) {
	p, err := ParsePolicy([]byte(`
volumePolicies:
- conditions: {storageClass: ["tmp-*"]}
  action: skip
- conditions: {capacity: "0,1Gi", pvcLabels: {tier: cache}}
  action: skip
- conditions: {driver: [disk.csi.example.com]}
  action: snapshot
- conditions: {capacity: "100Gi,"}
  action: skip
`))
	if err != nil {
		t.Fatal(err)
	}
	gi := int64(1 << 30)
	cases := []struct {
		name   string
		facts  VolumeFacts
		action string
		rule   int
	}{
		{"class glob", VolumeFacts{StorageClass: "tmp-fast", CapacityBytes: gi}, ActionSkip, 1},
		{"small cache", VolumeFacts{StorageClass: "std", CapacityBytes: gi, Labels: map[string]string{"tier": "cache"}}, ActionSkip, 2},
		{"big cache", VolumeFacts{StorageClass: "std", CapacityBytes: 2 * gi, Labels: map[string]string{"tier": "cache"}}, ActionSnapshot, 0},
		{"driver wins before size", VolumeFacts{Driver: "disk.csi.example.com", CapacityBytes: 200 * gi}, ActionSnapshot, 3},
		{"huge", VolumeFacts{Driver: "other", CapacityBytes: 200 * gi}, ActionSkip, 4},
		{"no match", VolumeFacts{Driver: "other", CapacityBytes: gi}, ActionSnapshot, 0},
	}
	for _, c := range cases {
		action, rule := p.Decide(c.facts)
		if action != c.action || rule != c.rule {
			t.Errorf("%s: got %s (rule %d), want %s (rule %d)", c.name, action, rule, c.action, c.rule)
		}
	}
	var none *Policy
	if a, _ := none.Decide(VolumeFacts{}); a != ActionSnapshot {
		t.Errorf("no policy: %s", a)
	}
}

func TestPolicyRejectsBadInput(t *testing.T) {
	for doc, want := range map[string]string{
		"volumePolicies: [{action: delete}]":                                  `action "delete": use skip, snapshot or fs-backup`,
		`volumePolicies: [{action: skip, conditions: {capacity: "10Gi"}}]`:    `use "min,max"`,
		`volumePolicies: [{action: skip, conditions: {capacity: "x,"}}]`:      `"x" is not a quantity`,
		`volumePolicies: [{action: skip, conditions: {size: 1}}]`:             `unknown field "size"`,
		`volumePolicies: [{action: skip, conditions: {storageClass: ["["]}}]`: "storageClass pattern",
	} {
		_, err := ParsePolicy([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", doc, err, want)
		}
	}
}
