package install

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// Redacted replaces every Secret value in rendered manifests that hide them.
const Redacted = "<redacted>"

// Manifests renders everything an install applies as one multi-document YAML manifest: the CRDs
// the binary carries, then the objects in the order they are applied. With redact, the Secrets'
// values are replaced by Redacted, so the output can be shown and kept without leaking the token.
func Manifests(opts Options, redact bool) (string, error) {
	objs, err := Build(opts)
	if err != nil {
		return "", err
	}
	return objs.manifests(redact)
}

func (o Objects) manifests(redact bool) (string, error) {
	embedded, err := crds.Embedded()
	if err != nil {
		return "", err
	}
	var all []runtime.Object
	for i := range embedded {
		all = append(all, &embedded[i])
	}
	for _, obj := range o.All() {
		if s, ok := obj.(*corev1.Secret); ok && redact {
			obj = redactSecret(s)
		}
		all = append(all, obj)
	}
	return trustgrant.Render(all, o.Reasons)
}

// redactSecret returns a copy of s whose values are all Redacted.
func redactSecret(s *corev1.Secret) *corev1.Secret {
	c := s.DeepCopy()
	keys := make([]string, 0, len(c.Data)+len(c.StringData))
	for k := range c.Data {
		keys = append(keys, k)
	}
	for k := range c.StringData {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	c.Data, c.StringData = nil, map[string]string{}
	for _, k := range keys {
		c.StringData[k] = Redacted
	}
	return c
}
