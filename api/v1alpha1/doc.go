// Package v1alpha1 holds cairn's custom resource types, group clusterbackup.dataprotection.microsoft.com:
// the BackupHook and RestoreHook kinds, kept field for field as AKS backup defines them so that its
// manifests apply unchanged. The types arrive with the hooks work; see docs/ARCHITECTURE.md.
//
// +groupName=clusterbackup.dataprotection.microsoft.com
package v1alpha1
