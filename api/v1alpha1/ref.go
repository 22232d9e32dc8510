package v1alpha1

import (
	"fmt"
	"strings"
)

// ParseHookRef parses a "namespace/name" reference to a BackupHook or RestoreHook: how backup
// instances, restores and the CLI name the hooks they run.
func ParseHookRef(ref string) (namespace, name string, err error) {
	namespace, name, ok := strings.Cut(ref, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("hook reference %q: use namespace/name", ref)
	}
	return namespace, name, nil
}
