package hooks

import (
	"fmt"
	"strings"
)

// ParseRef parses a "namespace/name" reference to a hook resource.
func ParseRef(ref string) (namespace, name string, err error) {
	namespace, name, ok := strings.Cut(ref, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("hook reference %q: use namespace/name", ref)
	}
	return namespace, name, nil
}
