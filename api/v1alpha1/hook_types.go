package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HookErrorMode says what a failed hook does to its backup or restore.
// +kubebuilder:validation:Enum=Continue;Fail
type HookErrorMode string

// Hook error modes.
const (
	HookErrorContinue HookErrorMode = "Continue"
	HookErrorFail     HookErrorMode = "Fail"
)

// BackupHook holds commands to run in pods' containers before and after they are backed up.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=cairn
type BackupHook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BackupHookSpec `json:"spec,omitempty"`
}

// BackupHookSpec is a list of hook rules.
type BackupHookSpec struct {
	// BackupHook is a list of hooks to execute before and after backing up a resource.
	// +optional
	BackupHook []BackupHookRule `json:"backupHook,omitempty"`
}

// BackupHookRule selects pods and says what to run in them.
type BackupHookRule struct {
	// Name of the hook; unique within the BackupHook.
	Name string `json:"name"`
	// IncludedNamespaces where the hook runs (globs allowed); empty means all.
	// +optional
	IncludedNamespaces []string `json:"includedNamespaces,omitempty"`
	// ExcludedNamespaces where the hook does not run (globs allowed).
	// +optional
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// LabelSelector selects the pods; empty means all pods in the namespaces.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// PreHooks run before the pod's items and volumes are backed up.
	// +optional
	PreHooks []BackupResourceHook `json:"preHooks,omitempty"`
	// PostHooks run after the pod's items and volumes are backed up.
	// +optional
	PostHooks []BackupResourceHook `json:"postHooks,omitempty"`
}

// BackupResourceHook is one hook of a backup rule.
type BackupResourceHook struct {
	// Exec runs a command in a container.
	Exec *ExecHook `json:"exec"`
}

// ExecHook runs a command in a container of a pod being backed up.
type ExecHook struct {
	// Container to run the command in; default: the pod's first container.
	// +optional
	Container string `json:"container,omitempty"`
	// Command and arguments, executed directly (never through a shell).
	// +kubebuilder:validation:MinItems=1
	Command []string `json:"command"`
	// OnError: Fail fails the backup, Continue records a warning (default Fail).
	// +optional
	OnError HookErrorMode `json:"onError,omitempty"`
	// Timeout bounds the command (default 30s).
	// +optional
	Timeout metav1.Duration `json:"timeout,omitempty"`
}

// BackupHookList is a list of BackupHooks.
// +kubebuilder:object:root=true
type BackupHookList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupHook `json:"items"`
}

// RestoreHook holds commands to run in restored pods' containers.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=cairn
type RestoreHook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec RestoreHookSpec `json:"spec,omitempty"`
}

// RestoreHookSpec is a list of hook rules.
type RestoreHookSpec struct {
	// RestoreHook is a list of hooks to execute after restoring a resource.
	// +optional
	RestoreHook []RestoreHookRule `json:"restoreHook,omitempty"`
}

// RestoreHookRule selects restored pods and says what to run in them.
type RestoreHookRule struct {
	// Name of the hook; unique within the RestoreHook.
	Name string `json:"name"`
	// IncludedNamespaces (restored namespaces) where the hook runs (globs allowed); empty means all.
	// +optional
	IncludedNamespaces []string `json:"includedNamespaces,omitempty"`
	// ExcludedNamespaces where the hook does not run (globs allowed).
	// +optional
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// LabelSelector selects the pods; empty means all restored pods in the namespaces.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// PostHooks run in the restored pods once their container runs.
	// +optional
	PostHooks []RestoreResourceHook `json:"postHooks,omitempty"`
}

// RestoreResourceHook is one hook of a restore rule.
type RestoreResourceHook struct {
	// Exec runs a command in a container.
	Exec *RestoreExecHook `json:"exec"`
}

// RestoreExecHook runs a command in a container of a restored pod.
type RestoreExecHook struct {
	// Container to run the command in; default: the pod's first container.
	// +optional
	Container string `json:"container,omitempty"`
	// Command and arguments, executed directly (never through a shell).
	// +kubebuilder:validation:MinItems=1
	Command []string `json:"command"`
	// OnError: Fail fails the restore, Continue records a warning (default Continue).
	// +optional
	OnError HookErrorMode `json:"onError,omitempty"`
	// ExecTimeout bounds the command (default 30s).
	// +optional
	ExecTimeout metav1.Duration `json:"execTimeout,omitempty"`
	// WaitTimeout bounds the wait for the container to run (and be ready, if it has a readiness
	// probe) before the command (default 5m).
	// +optional
	WaitTimeout metav1.Duration `json:"waitTimeout,omitempty"`
}

// RestoreHookList is a list of RestoreHooks.
// +kubebuilder:object:root=true
type RestoreHookList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RestoreHook `json:"items"`
}
