//go:build tools

// Package tools pins the Velero release hack/install-velero.sh builds for bench/cluster: Velero's
// go.mod has replace directives, so `go install ...@version` refuses it, and this module carries
// them instead.
package tools

import _ "github.com/vmware-tanzu/velero/cmd/velero"
