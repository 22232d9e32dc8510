// Package deploy holds cairn's Kubernetes manifests; the CRDs under crds/ (generated from
// api/v1alpha1 by `make generate`) are embedded in the binary, which installs them.
package deploy

import "embed"

// CRDs holds crds/*.yaml.
//
//go:embed crds/*.yaml
var CRDs embed.FS
