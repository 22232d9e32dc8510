package localcluster

import (
	"context"
	"fmt"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/internal/crds"
)

// applyCRDFiles applies the CRDs in the files (one per file) and waits until each is established.
func applyCRDFiles(ctx context.Context, cfg *rest.Config, files []string) error {
	var want []apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read CRD: %w", err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			return fmt.Errorf("decode CRD %s: %w", f, err)
		}
		want = append(want, crd)
	}
	_, err := crds.Apply(ctx, cfg, want)
	return err
}
