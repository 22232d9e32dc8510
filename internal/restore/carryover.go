package restore

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// carryOver copies into desired what the live object holds that the backup's copy lost in cleaning
// and the server will not let an update change or unset: allocated IPs and ports, a claim's
// volume, a Job's generated selector. Then an update replaces everything else.
func carryOver(gr string, live, desired *unstructured.Unstructured) {
	desired.SetResourceVersion(live.GetResourceVersion())
	copyIfMissing := func(path ...string) {
		if _, found, _ := unstructured.NestedFieldNoCopy(desired.Object, path...); found {
			return
		}
		if v, found, _ := unstructured.NestedFieldCopy(live.Object, path...); found {
			_ = unstructured.SetNestedField(desired.Object, v, path...)
		}
	}
	switch gr {
	case "services":
		typ, _, _ := unstructured.NestedString(desired.Object, "spec", "type")
		if typ != "ExternalName" {
			copyIfMissing("spec", "clusterIP")
			copyIfMissing("spec", "clusterIPs")
		}
		if typ == "NodePort" || typ == "LoadBalancer" {
			copyIfMissing("spec", "healthCheckNodePort")
			carryNodePorts(live, desired)
		}
	case "persistentvolumeclaims":
		copyIfMissing("spec", "volumeName")
	case "persistentvolumes":
		copyIfMissing("spec", "claimRef", "uid")
		copyIfMissing("spec", "claimRef", "resourceVersion")
	case "jobs.batch":
		copyIfMissing("spec", "selector")
		for _, l := range jobGeneratedLabels {
			copyIfMissing("spec", "template", "metadata", "labels", l)
		}
	case "pods":
		copyIfMissing("spec", "nodeName")
	}
}

// carryNodePorts keeps the live node port of each port the desired Service has without one.
func carryNodePorts(live, desired *unstructured.Unstructured) {
	livePorts, _, _ := unstructured.NestedSlice(live.Object, "spec", "ports")
	ports, found, _ := unstructured.NestedSlice(desired.Object, "spec", "ports")
	if !found {
		return
	}
	for _, p := range ports {
		pm, _ := p.(map[string]any)
		if _, has := pm["nodePort"]; has {
			continue
		}
		for _, lp := range livePorts {
			lm, _ := lp.(map[string]any)
			if lm["port"] == pm["port"] && lm["protocol"] == pm["protocol"] && lm["nodePort"] != nil {
				pm["nodePort"] = lm["nodePort"]
			}
		}
	}
	_ = unstructured.SetNestedSlice(desired.Object, ports, "spec", "ports")
}
