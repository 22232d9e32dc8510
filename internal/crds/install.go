// Package crds installs the custom resource definitions embedded in the binary (deploy/crds): the
// BackupHook and RestoreHook kinds.
package crds

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/deploy"
)

// Embedded returns the CRDs the binary carries.
func Embedded() ([]apiextensionsv1.CustomResourceDefinition, error) {
	files, err := fs.Glob(deploy.CRDs, "crds/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list embedded CRDs: %w", err)
	}
	var out []apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := deploy.CRDs.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", f, err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return nil, fmt.Errorf("decode embedded %s: %w", f, err)
		}
		out = append(out, crd)
	}
	return out, nil
}

// Install creates the embedded CRDs, or updates them to this binary's version, and waits until
// each is established. It returns the names it created or updated.
func Install(ctx context.Context, cfg *rest.Config) ([]string, error) {
	want, err := Embedded()
	if err != nil {
		return nil, err
	}
	return Apply(ctx, cfg, want)
}

// Apply creates each CRD, or updates it if it exists, and waits until all are established. It
// returns the names it created or updated.
func Apply(ctx context.Context, cfg *rest.Config, want []apiextensionsv1.CustomResourceDefinition) ([]string, error) {
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apiextensions client: %w", err)
	}
	api := client.ApiextensionsV1().CustomResourceDefinitions()
	var names []string
	for _, crd := range want {
		live, err := api.Get(ctx, crd.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := api.Create(ctx, &crd, metav1.CreateOptions{}); err != nil {
				return names, fmt.Errorf("create CRD %s: %w", crd.Name, err)
			}
		case err != nil:
			return names, fmt.Errorf("read CRD %s: %w", crd.Name, err)
		default:
			crd.ResourceVersion = live.ResourceVersion
			if _, err := api.Update(ctx, &crd, metav1.UpdateOptions{}); err != nil {
				return names, fmt.Errorf("update CRD %s: %w", crd.Name, err)
			}
		}
		names = append(names, crd.Name)
	}
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			crd, err := api.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return names, fmt.Errorf("CRD %s not established: %w", name, err)
		}
	}
	return names, nil
}
