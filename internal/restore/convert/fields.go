package convert

import (
	"fmt"
)

// The field rewrites of the conversions whose schemas differ, as Kubernetes' own conversion
// functions did them while both versions were served. Objects are JSON maps.

// ingressFromBeta: spec.backend becomes spec.defaultBackend, and every backend's serviceName and
// servicePort become service.name and service.port.number or .name; a path without a pathType
// gets ImplementationSpecific, the beta's meaning.
func ingressFromBeta(obj map[string]any) error {
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	if b, ok := spec["backend"].(map[string]any); ok {
		nb, err := ingressBackend(b)
		if err != nil {
			return fmt.Errorf("spec.backend: %w", err)
		}
		spec["defaultBackend"] = nb
		delete(spec, "backend")
	}
	rules, _ := spec["rules"].([]any)
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		http, _ := rule["http"].(map[string]any)
		paths, _ := http["paths"].([]any)
		for j, p := range paths {
			path, _ := p.(map[string]any)
			if path == nil {
				continue
			}
			if b, ok := path["backend"].(map[string]any); ok {
				nb, err := ingressBackend(b)
				if err != nil {
					return fmt.Errorf("spec.rules[%d].http.paths[%d].backend: %w", i, j, err)
				}
				path["backend"] = nb
			}
			if _, ok := path["pathType"]; !ok {
				path["pathType"] = "ImplementationSpecific"
			}
		}
	}
	return nil
}

func ingressBackend(b map[string]any) (map[string]any, error) {
	if res, ok := b["resource"]; ok {
		return map[string]any{"resource": res}, nil
	}
	name, _ := b["serviceName"].(string)
	if name == "" {
		return nil, fmt.Errorf("neither serviceName nor resource")
	}
	port := map[string]any{}
	switch p := b["servicePort"].(type) {
	case string:
		port["name"] = p
	case float64:
		port["number"] = int64(p)
	case int64:
		port["number"] = p
	default:
		return nil, fmt.Errorf("servicePort %v is neither a number nor a name", b["servicePort"])
	}
	return map[string]any{"service": map[string]any{"name": name, "port": port}}, nil
}

// hpaFromV2beta1: each metric's target fields become a target of type Utilization, AverageValue
// or Value, its metric name and selector a metric identifier; an Object metric's target becomes
// describedObject. The status is dropped (the controller writes it anew).
func hpaFromV2beta1(obj map[string]any) error {
	delete(obj, "status")
	spec, _ := obj["spec"].(map[string]any)
	metrics, _ := spec["metrics"].([]any)
	for i, m := range metrics {
		metric, _ := m.(map[string]any)
		typ, _ := metric["type"].(string)
		key := map[string]string{"Resource": "resource", "Pods": "pods", "Object": "object", "External": "external"}[typ]
		src, _ := metric[key].(map[string]any)
		if key == "" || src == nil {
			return fmt.Errorf("spec.metrics[%d]: type %q has no %s source to convert", i, typ, typ)
		}
		out, err := hpaMetric(typ, src)
		if err != nil {
			return fmt.Errorf("spec.metrics[%d]: %w", i, err)
		}
		metric[key] = out
	}
	return nil
}

func hpaMetric(typ string, src map[string]any) (map[string]any, error) {
	target := func(utilization, average, value string) (map[string]any, error) {
		switch {
		case utilization != "" && src[utilization] != nil:
			return map[string]any{"type": "Utilization", "averageUtilization": src[utilization]}, nil
		case average != "" && src[average] != nil:
			return map[string]any{"type": "AverageValue", "averageValue": src[average]}, nil
		case value != "" && src[value] != nil:
			return map[string]any{"type": "Value", "value": src[value]}, nil
		}
		return nil, fmt.Errorf("%s metric without a target", typ)
	}
	identifier := func(selector string) map[string]any {
		id := map[string]any{"name": src["metricName"]}
		if s, ok := src[selector]; ok {
			id["selector"] = s
		}
		return id
	}
	switch typ {
	case "Resource":
		t, err := target("targetAverageUtilization", "targetAverageValue", "")
		return map[string]any{"name": src["name"], "target": t}, err
	case "Pods":
		t, err := target("", "targetAverageValue", "")
		return map[string]any{"metric": identifier("selector"), "target": t}, err
	case "Object":
		t, err := target("", "averageValue", "targetValue")
		return map[string]any{"describedObject": src["target"], "metric": identifier("selector"), "target": t}, err
	default: // External
		t, err := target("", "targetAverageValue", "targetValue")
		return map[string]any{"metric": identifier("metricSelector"), "target": t}, err
	}
}

// endpointSliceFromBeta: each endpoint's topology becomes deprecatedTopology, its zone and
// hostname labels the zone and nodeName fields.
func endpointSliceFromBeta(obj map[string]any) error {
	endpoints, _ := obj["endpoints"].([]any)
	for _, e := range endpoints {
		ep, _ := e.(map[string]any)
		topology, _ := ep["topology"].(map[string]any)
		if topology == nil {
			continue
		}
		delete(ep, "topology")
		if zone, ok := topology["topology.kubernetes.io/zone"]; ok {
			ep["zone"] = zone
			delete(topology, "topology.kubernetes.io/zone")
		}
		if node, ok := topology["kubernetes.io/hostname"]; ok {
			if _, set := ep["nodeName"]; !set {
				ep["nodeName"] = node
			}
			delete(topology, "kubernetes.io/hostname")
		}
		if len(topology) > 0 {
			ep["deprecatedTopology"] = topology
		}
	}
	return nil
}

// priorityLevelFromBeta: spec.limited.assuredConcurrencyShares became nominalConcurrencyShares.
func priorityLevelFromBeta(obj map[string]any) error {
	spec, _ := obj["spec"].(map[string]any)
	limited, _ := spec["limited"].(map[string]any)
	if shares, ok := limited["assuredConcurrencyShares"]; ok {
		limited["nominalConcurrencyShares"] = shares
		delete(limited, "assuredConcurrencyShares")
	}
	return nil
}

// workloadFromBeta: the beta workloads' fields v1 dropped (rollbackTo, templateGeneration) go, and
// a selector the beta defaulted from the template's labels is written down, as v1 requires it.
func workloadFromBeta(obj map[string]any) error {
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	delete(spec, "rollbackTo")
	delete(spec, "templateGeneration")
	if _, ok := spec["selector"]; !ok {
		template, _ := spec["template"].(map[string]any)
		meta, _ := template["metadata"].(map[string]any)
		labels, _ := meta["labels"].(map[string]any)
		if len(labels) == 0 {
			return fmt.Errorf("no spec.selector and no template labels to make one from")
		}
		spec["selector"] = map[string]any{"matchLabels": labels}
	}
	return nil
}
