// Package v1alpha1 holds cairn's custom resource types, group clusterbackup.dataprotection.microsoft.com:
// the BackupHook and RestoreHook kinds, kept field for field as AKS backup defines them so that its
// manifests apply unchanged. internal/hooks runs them; docs/design/hooks.md describes how.
//
// +kubebuilder:object:generate=true
// +groupName=clusterbackup.dataprotection.microsoft.com
package v1alpha1
