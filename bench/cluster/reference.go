package main

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/bench/internal/harness"
)

// createCRDs creates the benchmark's CRDs and waits until the cluster serves them.
func createCRDs(ctx context.Context, dyn dynamic.Interface) error {
	for _, kind := range crdKinds {
		if _, err := dyn.Resource(gvrCRDs).Create(ctx, crd(kind), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create the CRD of %s: %w", kind, err)
		}
	}
	for _, kind := range crdKinds {
		gvr := customGVR(kind)
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{Limit: 1})
			return err == nil, nil
		})
		if err != nil {
			return fmt.Errorf("the cluster does not serve %s: %w", gvr, err)
		}
	}
	return nil
}

// createNamespaces is the raw create reference: every object of namespaces 0..n-1, parallelism
// namespaces at a time, each namespace's stages in order so that owners exist (and their uids are
// known) before what they own.
func createNamespaces(ctx context.Context, dyn dynamic.Interface, n, parallelism int) (objects int, err error) {
	counts := make([]int, n)
	err = harness.Parallel(ctx, n, parallelism, func(ctx context.Context, ns int) error {
		uids := map[string]string{}
		for _, st := range namespaceObjects(ns) {
			for _, o := range st {
				fillOwnerUIDs(o, uids)
				gvr := gvrOf(o)
				var ri dynamic.ResourceInterface = dyn.Resource(gvr)
				if o.GetNamespace() != "" {
					ri = dyn.Resource(gvr).Namespace(o.GetNamespace())
				}
				created, err := ri.Create(ctx, o, metav1.CreateOptions{})
				if err != nil {
					return fmt.Errorf("create %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
				}
				uids[o.GetKind()+"/"+o.GetName()] = string(created.GetUID())
				counts[ns]++
			}
		}
		return nil
	})
	for _, c := range counts {
		objects += c
	}
	return objects, err
}

func fillOwnerUIDs(o *unstructured.Unstructured, uids map[string]string) {
	refs := o.GetOwnerReferences()
	for i := range refs {
		refs[i].UID = types.UID(uids[refs[i].Kind+"/"+refs[i].Name])
	}
	if len(refs) > 0 {
		o.SetOwnerReferences(refs)
	}
}

// rawList is the LIST reference: every resource type the benchmark makes, across all namespaces,
// in pages of 500, each page decoded only as far as its items.
func rawList(ctx context.Context, cfg *rest.Config) (objects int, err error) {
	for _, r := range benchResources() {
		n, err := listPages(ctx, cfg, r)
		if err != nil {
			return objects, err
		}
		objects += n
	}
	return objects, nil
}

func listPages(ctx context.Context, cfg *rest.Config, r resource) (int, error) {
	c := rest.CopyConfig(cfg)
	c.APIPath, c.GroupVersion, c.NegotiatedSerializer = "/api", &schema.GroupVersion{Version: "v1"}, scheme.Codecs.WithoutConversion()
	client, err := rest.RESTClientFor(c)
	if err != nil {
		return 0, err
	}
	path := "/apis/" + r.gvr.Group + "/" + r.gvr.Version + "/" + r.gvr.Resource
	if r.gvr.Group == "" {
		path = "/api/" + r.gvr.Version + "/" + r.gvr.Resource
	}
	return harness.CountList(ctx, client, path)
}
