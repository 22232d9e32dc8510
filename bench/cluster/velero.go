package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/localcluster"
)

// veleroRun is one measured Velero operation.
type veleroRun struct {
	Wall       time.Duration // from the Backup or Restore object's creation to its final phase
	PeakRSSKiB int64         // the velero server's peak RSS (VmHWM)
	CPU        time.Duration // the CPU time of the server and its plugins meanwhile
	Items      int           // items Velero reports backed up or restored
	Total      int           // items Velero reports it will back up or restore
	Phase      string
	Stopped    bool // stopped at the time limit before its end
}

// velero runs Velero out of cluster (as ../shared/notes/velero.md found it works) against a local
// cluster, its AWS plugin writing to the benchmark's S3 server.
type velero struct {
	bin, pluginDir, version, pluginVersion string
	s3                                     harness.S3
	serverFlags                            []string
}

const veleroNamespace = "velero"

var (
	gvrBackups   = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "backups"}
	gvrRestores  = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "restores"}
	gvrLocations = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "backupstoragelocations"}
)

// newVelero finds the binaries make bench-velero installs.
func newVelero(bins localcluster.Binaries, s3 harness.S3, serverFlags []string) (*velero, error) {
	v := &velero{s3: s3, serverFlags: serverFlags}
	var err error
	if v.version, err = bins.Version("VELERO_VERSION"); err != nil {
		return nil, err
	}
	if v.pluginVersion, err = bins.Version("VELERO_AWS_PLUGIN_VERSION"); err != nil {
		return nil, err
	}
	v.bin = filepath.Join(bins.Cache, "tools", "velero-"+v.version, "velero")
	v.pluginDir = filepath.Join(bins.Cache, "tools", "velero-plugin-for-aws-"+v.pluginVersion)
	for _, f := range []string{v.bin, filepath.Join(v.pluginDir, "velero-plugin-for-aws")} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s not found: run make bench-velero", f)
		}
	}
	return v, nil
}

// describe names the versions and the server's flags, for the table.
func (v *velero) describe() string {
	flags := "its default flags"
	if len(v.serverFlags) > 0 {
		flags = "`velero server " + strings.Join(v.serverFlags, " ") + "`"
	}
	return fmt.Sprintf("Velero %s, velero-plugin-for-aws %s, %s", v.version, v.pluginVersion, flags)
}

// backup backs up the whole cluster but Velero's own namespace.
func (v *velero) backup(ctx context.Context, kubeconfig, name string) (veleroRun, error) {
	return v.operate(ctx, kubeconfig, gvrBackups, name, map[string]any{
		"excludedNamespaces": []any{veleroNamespace}, "storageLocation": "default", "snapshotVolumes": false,
	}, "itemsBackedUp", 0)
}

// restore restores backup name into a cluster that has not seen Velero, once the server has
// found the backup in the bucket; with a limit above 0, it stops waiting once the restore has run
// that long and reports it Stopped.
func (v *velero) restore(ctx context.Context, kubeconfig, name string, limit time.Duration) (veleroRun, error) {
	return v.operate(ctx, kubeconfig, gvrRestores, name, map[string]any{"backupName": name}, "itemsRestored", limit)
}

// progressEvery is how often a Velero run reports its progress: its restore of a large cluster
// takes hours.
const progressEvery = time.Minute

// operate installs Velero into the cluster, starts its server, creates the Backup or Restore and
// waits for its final phase, or for limit when it is above 0, timing only that.
func (v *velero) operate(ctx context.Context, kubeconfig string, gvr schema.GroupVersionResource, name string, spec map[string]any, itemsField string,
	limit time.Duration) (veleroRun, error) {
	var run veleroRun
	cfg, err := kube.Target{Kubeconfig: kubeconfig}.RESTConfig()
	if err != nil {
		return run, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return run, err
	}
	if err := v.install(ctx, dyn); err != nil {
		return run, fmt.Errorf("install velero: %w", err)
	}
	srv, err := v.startServer(ctx, kubeconfig)
	if err != nil {
		return run, err
	}
	defer func() { _ = srv.Stop() }()
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		bsl, err := dyn.Resource(gvrLocations).Namespace(veleroNamespace).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		phase, _, _ := unstructured.NestedString(bsl.Object, "status", "phase")
		return phase == "Available", nil
	})
	if err != nil {
		return run, fmt.Errorf("velero's BackupStorageLocation did not become Available: %w%s", err, serverOutput(srv))
	}
	if gvr == gvrRestores {
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvrBackups).Namespace(veleroNamespace).Get(ctx, name, metav1.GetOptions{})
			return err == nil, nil
		})
		if err != nil {
			return run, fmt.Errorf("velero did not sync backup %s from the bucket: %w%s", name, err, serverOutput(srv))
		}
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1", "kind": map[string]string{"backups": "Backup", "restores": "Restore"}[gvr.Resource],
		"metadata": map[string]any{"name": name, "namespace": veleroNamespace}, "spec": spec,
	}}
	var errs, warnings int64
	cpuBefore, err := harness.ProcessTreeCPU(srv.Pid())
	if err != nil {
		return run, err
	}
	began := time.Now()
	if _, err := dyn.Resource(gvr).Namespace(veleroNamespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		return run, fmt.Errorf("create velero %s %s: %w", gvr.Resource, name, err)
	}
	reported := began
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 6*time.Hour, true, func(ctx context.Context) (bool, error) {
		got, err := dyn.Resource(gvr).Namespace(veleroNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		run.Phase, _, _ = unstructured.NestedString(got.Object, "status", "phase")
		items, _, _ := unstructured.NestedInt64(got.Object, "status", "progress", itemsField)
		total, _, _ := unstructured.NestedInt64(got.Object, "status", "progress", "totalItems")
		run.Items, run.Total = int(items), int(total)
		if time.Since(reported) >= progressEvery {
			reported = time.Now()
			progress("velero %s %s: %d of %d items after %s", gvr.Resource, name, items, total, time.Since(began).Round(time.Second))
		}
		errs, _, _ = unstructured.NestedInt64(got.Object, "status", "errors")
		warnings, _, _ = unstructured.NestedInt64(got.Object, "status", "warnings")
		switch run.Phase {
		case "Completed", "PartiallyFailed", "Failed", "FailedValidation":
			return true, nil
		}
		if limit > 0 && time.Since(began) >= limit {
			run.Stopped = true
			return true, nil
		}
		return srv.Exited(), nil
	})
	run.Wall = time.Since(began)
	run.PeakRSSKiB = srv.PeakRSSKiB()
	if cpu, cpuErr := harness.ProcessTreeCPU(srv.Pid()); cpuErr == nil {
		run.CPU = cpu - cpuBefore
	}
	if err != nil || srv.Exited() {
		if err == nil {
			err = errors.New("its server exited")
		}
		return run, fmt.Errorf("velero %s %s did not finish (phase %q): %w%s", gvr.Resource, name, run.Phase, err, serverOutput(srv))
	}
	if run.Stopped {
		progress("velero %s %s stopped at the limit (%s): %d of %d items", gvr.Resource, name, limit.Round(time.Second), run.Items, run.Total)
		return run, nil
	}
	if run.Phase != "Completed" && run.Phase != "PartiallyFailed" {
		return run, fmt.Errorf("velero %s %s ended %s%s", gvr.Resource, name, run.Phase, serverOutput(srv))
	}
	if run.Phase == "PartiallyFailed" {
		progress("velero %s %s ended PartiallyFailed: %d errors, %d warnings", gvr.Resource, name, errs, warnings)
	}
	return run, nil
}

// install applies Velero's CRDs, its namespace, the credentials Secret, the BackupStorageLocation
// and a Deployment velero/velero with no replicas (a restore out of cluster looks it up).
func (v *velero) install(ctx context.Context, dyn dynamic.Interface) error {
	out, err := exec.CommandContext(ctx, v.bin, "install", "--crds-only", "--dry-run", "-o", "yaml").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return fmt.Errorf("velero install --crds-only --dry-run: %w", err)
	}
	crds, err := yamlObjects(out)
	if err != nil {
		return err
	}
	creds := fmt.Sprintf("[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n", v.s3.AccessKey, v.s3.SecretKey)
	objs := append(crds,
		object("v1", "Namespace", "", veleroNamespace, nil),
		&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": "cloud-credentials", "namespace": veleroNamespace}, "stringData": map[string]any{"cloud": creds}}},
		&unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "velero", "namespace": veleroNamespace},
			"spec": map[string]any{"replicas": int64(0), "selector": map[string]any{"matchLabels": map[string]any{"deploy": "velero"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"deploy": "velero"}},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "velero", "image": "velero/velero:" + v.version}}}}}}},
	)
	for _, o := range objs {
		gvr := gvrOf(o)
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if o.GetNamespace() != "" {
			ri = dyn.Resource(gvr).Namespace(o.GetNamespace())
		}
		if _, err := ri.Create(ctx, o, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	bsl := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
		"metadata": map[string]any{"name": "default", "namespace": veleroNamespace},
		"spec": map[string]any{"provider": "aws", "default": true,
			"objectStorage": map[string]any{"bucket": v.s3.Bucket, "prefix": "velero"},
			"credential":    map[string]any{"name": "cloud-credentials", "key": "cloud"},
			"config":        map[string]any{"region": v.s3.Region, "s3ForcePathStyle": "true", "s3Url": v.s3.Endpoint()}}}}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(gvrLocations).Namespace(veleroNamespace).Create(ctx, bsl, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err), nil // until its CRD is served
	})
}

// yamlObjects reads the objects of a YAML stream, a List's items included.
func yamlObjects(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &o.Object); err != nil {
			return nil, fmt.Errorf("read velero's manifests: %w", err)
		}
		if o.Object == nil {
			continue
		}
		if o.IsList() {
			list, err := o.ToList()
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				objs = append(objs, &list.Items[i])
			}
			continue
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// startServer runs `velero server` against the cluster, ready once its metrics address answers.
func (v *velero) startServer(ctx context.Context, kubeconfig string) (*harness.Server, error) {
	profiler, err := harness.FreeLoopbackPort()
	if err != nil {
		return nil, err
	}
	srv, _, err := harness.StartServer(ctx, "velero server", func(addr string) []string {
		return append([]string{v.bin, "server", "--kubeconfig", kubeconfig, "--namespace", veleroNamespace, "--plugin-dir", v.pluginDir,
			"--log-level", "warning", "--backup-sync-period", "2s", "--metrics-address", addr,
			"--profiler-address", "127.0.0.1:" + strconv.Itoa(profiler)}, v.serverFlags...)
	}, []string{"VELERO_NAMESPACE=" + veleroNamespace}, nil)
	return srv, err
}

// serverOutput is the end of the server's output, for errors.
func serverOutput(srv *harness.Server) string {
	return "\nvelero server output, its end:\n" + srv.Output()
}
