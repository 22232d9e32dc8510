package snapshot

import (
	"strings"
	"testing"
)

func TestClassForDriver(t *testing.T) {
	c := &classes{served: true,
		driverOf: map[string]string{"fast": "disk", "cheap": "disk", "files": "nfs", "a": "multi", "b": "multi"},
		defaults: map[string][]string{"disk": {"fast"}, "multi": {"a", "b"}}}
	cases := []struct {
		named, driver, class, why string
	}{
		{"", "disk", "fast", ""},
		{"cheap", "disk", "cheap", ""},
		{"files", "disk", "", `snapshot class "files" is for CSI driver nfs, not disk`},
		{"", "none", "", "CSI driver none has no default VolumeSnapshotClass"},
		{"", "multi", "", "has 2 default VolumeSnapshotClasses (a, b): name one with --snapshot-class"},
	}
	for _, tc := range cases {
		class, why := c.forDriver(tc.named, tc.driver)
		if class != tc.class || (tc.why == "") != (why == "") || !strings.Contains(why, tc.why) {
			t.Errorf("forDriver(%q, %q) = %q, %q; want %q, %q", tc.named, tc.driver, class, why, tc.class, tc.why)
		}
	}
}

func TestObjectNamesAreBoundedAndDistinct(t *testing.T) {
	long := strings.Repeat("x", 300)
	if n := ObjectName(long, "a"); len(n) > 253 {
		t.Errorf("name of %d characters", len(n))
	}
	if ObjectName("p", "ns", "a-b") == ObjectName("p", "ns-a", "b") {
		t.Error("different parts gave one name")
	}
}
