package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of the hook resources.
var GroupVersion = schema.GroupVersion{Group: "clusterbackup.dataprotection.microsoft.com", Version: "v1alpha1"}

// The hook resources.
var (
	BackupHookResource  = GroupVersion.WithResource("backuphooks")
	RestoreHookResource = GroupVersion.WithResource("restorehooks")
)

// AddToScheme registers the types with a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &BackupHook{}, &BackupHookList{}, &RestoreHook{}, &RestoreHookList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
