package usecase

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/scope"
)

func TestNeededAccess(t *testing.T) {
	group := func(g, resource, ns string) archive.IndexGroup {
		return archive.IndexGroup{GroupKey: archive.GroupKey{Group: g, Resource: resource, Namespace: ns}, Namespaced: ns != ""}
	}
	ix := &archive.Index{Groups: []archive.IndexGroup{
		group("", "namespaces", ""), group("", "configmaps", "shop"), group("apps", "deployments", "shop"),
		group("", "configmaps", "other"), group("storage.k8s.io", "storageclasses", ""), group("", "nodes", ""),
	}}
	sc, err := scope.New(scope.Spec{IncludedNamespaces: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	opts := restore.Options{Scope: sc, ConflictPolicy: restore.ConflictPatch, NamespaceMapping: map[string]string{"shop": "shop-copy"}}
	got := fmt.Sprint(neededAccess(ix, opts, true))
	// Scoped to a namespace, of the cluster-scoped types only the dependencies (storage classes).
	want := "[create configmaps in namespace shop-copy create deployments.apps in namespace shop-copy create namespaces " +
		"create pods/exec in namespace shop-copy create storageclasses.storage.k8s.io " +
		"update configmaps in namespace shop-copy update deployments.apps in namespace shop-copy update namespaces update storageclasses.storage.k8s.io]"
	if got != want {
		t.Errorf("needed access:\n%s\nwant\n%s", got, want)
	}

	many := &archive.Index{}
	for i := range maxAccessChecks {
		many.Groups = append(many.Groups, group("", "configmaps", fmt.Sprintf("ns-%d", i)))
	}
	all, err := scope.New(scope.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	wide := neededAccess(many, restore.Options{Scope: all}, false)
	if got := fmt.Sprint(wide); got != "[create configmaps create namespaces]" {
		t.Errorf("past %d reviews: %s", maxAccessChecks, got)
	}
	if s := summarizeAccess(append(wide, make([]Access, 10)...)); !strings.HasSuffix(s, "; and 2 more") {
		t.Errorf("summary: %s", s)
	}
}
