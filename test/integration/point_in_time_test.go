//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/scope"
)

// TestBackupIsOnePointInTime backs up a namespace while a writer creates a ConfigMap and then a
// Secret of the same number, again and again, updates ConfigMaps and deletes old pairs (the
// Secret first). Listed each at its own moment, a backup would hold Secrets without their
// ConfigMap or the reverse beyond the one pair being written: a state the cluster never had.
// Listed at the backup's recorded resourceVersion, every backup equals the cluster's state at that
// version object for object (name and resourceVersion, as a list at that exact version says),
// with no object twice.
func TestBackupIsOnePointInTime(t *testing.T) {
	ctx := t.Context()
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	const ns = "point-in-time"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := &pairWriter{client: client, ns: ns}
	for range 150 {
		if err := w.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	writerCtx, stopWriter := context.WithCancel(ctx)
	var writerErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for writerCtx.Err() == nil {
			if err := w.step(writerCtx); err != nil && writerCtx.Err() == nil {
				writerErr = err
				return
			}
		}
	})

	st, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := archive.Init(ctx, st, archive.Credential{Passphrase: []byte(testPassphrase)}, archive.InitOptions{Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := source.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scope.New(scope.Spec{IncludedNamespaces: []string{ns}, IncludedResources: []string{"configmaps", "secrets"}})
	if err != nil {
		t.Fatal(err)
	}
	var points []archive.RecoveryPoint
	for i := range 4 {
		// Small pages and one lister: the two types are listed one after the other, over many
		// requests, while the writer goes on.
		rp, err := backup.Run(ctx, cfg, repo, backup.Options{Name: fmt.Sprintf("pit-%d", i), Scope: sc, PageSize: 10, Parallelism: 1})
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, rp)
	}
	stopWriter()
	wg.Wait()
	if writerErr != nil {
		t.Fatalf("writer: %v", writerErr)
	}
	t.Logf("the writer made %d pairs during and before the backups", w.made)

	for _, rp := range points {
		if rp.Result.Phase != archive.PhaseCompleted || rp.PointInTime == nil || rp.PointInTime.ResourceVersion == "" || len(rp.PointInTime.Others) != 0 {
			t.Fatalf("backup %s: %s, point in time %+v, errors %v", rp.Name, rp.Result.Phase, rp.PointInTime, rp.Result.Errors)
		}
		got := backedUp(t, repo, rp.Name)
		for _, kind := range []string{"ConfigMap", "Secret"} {
			want := listedAt(t, client, ns, kind, rp.PointInTime.ResourceVersion)
			if !maps.Equal(got[kind], want) {
				t.Errorf("backup %s at resourceVersion %s: %d %ss, the cluster had %d at that version; differing: %v",
					rp.Name, rp.PointInTime.ResourceVersion, len(got[kind]), kind, len(want), differing(got[kind], want))
			}
		}
		// The writer's order makes every Secret's ConfigMap exist, and at most one ConfigMap
		// wait for its Secret.
		var unpaired []string
		for name := range got["Secret"] {
			if _, ok := got["ConfigMap"][name]; !ok {
				t.Errorf("backup %s holds Secret %s without its ConfigMap", rp.Name, name)
			}
		}
		for name := range got["ConfigMap"] {
			if _, ok := got["Secret"][name]; !ok {
				unpaired = append(unpaired, name)
			}
		}
		if len(unpaired) > 1 {
			t.Errorf("backup %s holds %d ConfigMaps without their Secret (a state the cluster never had): %v", rp.Name, len(unpaired), unpaired)
		}
	}
}

// pairWriter writes pairs: ConfigMap n, then Secret n; it updates ConfigMap n-5 and deletes pair
// n-40, Secret first.
type pairWriter struct {
	client kubernetes.Interface
	ns     string
	made   int
}

func (w *pairWriter) step(ctx context.Context) error {
	n := w.made
	name := fmt.Sprintf("pair-%05d", n)
	if _, err := w.client.CoreV1().ConfigMaps(w.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name},
		Data: map[string]string{"n": strconv.Itoa(n)}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := w.client.CoreV1().Secrets(w.ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
		StringData: map[string]string{"n": strconv.Itoa(n)}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	w.made++
	if n >= 5 {
		old := fmt.Sprintf("pair-%05d", n-5)
		cm, err := w.client.CoreV1().ConfigMaps(w.ns).Get(ctx, old, metav1.GetOptions{})
		if err == nil {
			cm.Data["updated"] = time.Now().Format(time.RFC3339Nano)
			_, err = w.client.CoreV1().ConfigMaps(w.ns).Update(ctx, cm, metav1.UpdateOptions{})
		}
		if err != nil {
			return err
		}
	}
	if n >= 40 {
		gone := fmt.Sprintf("pair-%05d", n-40)
		if err := w.client.CoreV1().Secrets(w.ns).Delete(ctx, gone, metav1.DeleteOptions{}); err != nil {
			return err
		}
		if err := w.client.CoreV1().ConfigMaps(w.ns).Delete(ctx, gone, metav1.DeleteOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// backedUp reads the ConfigMaps and Secrets of a backup: kind → name → resourceVersion. An
// object stored twice fails the test.
func backedUp(t *testing.T, repo *archive.Repository, name string) map[string]map[string]string {
	t.Helper()
	ctx := t.Context()
	b, err := repo.OpenBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	x, err := b.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{"ConfigMap": {}, "Secret": {}}
	for _, g := range x.Groups {
		if _, ok := out[g.Kind]; !ok {
			continue
		}
		if err := b.ReadGroup(ctx, g, func(item []byte) error {
			var obj struct {
				Metadata struct{ Name, ResourceVersion string } `json:"metadata"`
			}
			if err := json.Unmarshal(item, &obj); err != nil {
				return err
			}
			if obj.Metadata.Name == rootCAConfigMap {
				return nil
			}
			if _, twice := out[g.Kind][obj.Metadata.Name]; twice {
				t.Errorf("backup %s holds %s %s twice", name, g.Kind, obj.Metadata.Name)
			}
			out[g.Kind][obj.Metadata.Name] = obj.Metadata.ResourceVersion
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// listedAt is what a list at exactly resourceVersion rv says of ns's objects of kind: name →
// resourceVersion.
func listedAt(t *testing.T, client kubernetes.Interface, ns, kind, rv string) map[string]string {
	t.Helper()
	opts := metav1.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact}
	out := map[string]string{}
	switch kind {
	case "ConfigMap":
		list, err := client.CoreV1().ConfigMaps(ns).List(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			out[o.Name] = o.ResourceVersion
		}
	case "Secret":
		list, err := client.CoreV1().Secrets(ns).List(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			out[o.Name] = o.ResourceVersion
		}
	}
	delete(out, rootCAConfigMap)
	return out
}

// rootCAConfigMap is the ConfigMap the controller-manager puts in every namespace: not the
// writer's.
const rootCAConfigMap = "kube-root-ca.crt"

// differing names the objects two name → resourceVersion maps disagree on.
func differing(got, want map[string]string) []string {
	var out []string
	for name, rv := range got {
		if want[name] != rv {
			out = append(out, fmt.Sprintf("%s: backup %s, cluster %q", name, rv, want[name]))
		}
	}
	for name, rv := range want {
		if _, ok := got[name]; !ok {
			out = append(out, fmt.Sprintf("%s: cluster %s, not in the backup", name, rv))
		}
	}
	slices.Sort(out)
	return out
}
