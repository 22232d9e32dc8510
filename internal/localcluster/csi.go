package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// The CSI stack of a cluster started with Options.CSI: the test driver (test/csidriver) and the
// real Kubernetes sidecars, all host processes, plus the objects that make them usable.
const (
	CSIDriverName    = "hostpath.csi.cairn.dev"
	CSIStorageClass  = "cairn-csi"
	CSISnapshotClass = "cairn-csi"
	// CSIIncrementalSnapshotClass is a VolumeSnapshotClass, not the default, whose snapshots share
	// unchanged files with the volume's previous snapshot (test/csidriver's SnapshotModeParameter).
	CSIIncrementalSnapshotClass = "cairn-csi-incremental"
)

var csiSidecars = []string{"snapshot-controller", "csi-provisioner", "csi-snapshotter"}

// VolumeSnapshotClassResource is the snapshot API's class resource.
var VolumeSnapshotClassResource = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}

func (c *Cluster) csiSocket() string {
	return filepath.Join(c.kubeletDir(), "plugins", CSIDriverName, "csi.sock")
}

// CSIStateDir is where the test driver keeps volumes and snapshots.
func (c *Cluster) CSIStateDir() string {
	if c.opts.CSIStateDir != "" {
		return c.opts.CSIStateDir
	}
	return filepath.Join(c.Dir, "csi-state")
}

// startCSI installs the snapshot CRDs, starts the driver (which registers itself with the kubelet)
// and the sidecars, creates the CSIDriver, StorageClass and VolumeSnapshotClasses, and waits until the
// kubelet lists the driver on the node.
func (c *Cluster) startCSI(ctx context.Context) error {
	began := time.Now()
	if err := c.installSnapshotCRDs(ctx); err != nil {
		return err
	}
	driver, err := c.buildCSIDriver(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.CSIStateDir(), 0o755); err != nil {
		return fmt.Errorf("create CSI state dir: %w", err)
	}
	err = c.launch(component{name: "csi-driver", path: driver, args: []string{
		"--endpoint=unix://" + c.csiSocket(),
		"--driver-name=" + CSIDriverName,
		"--node-id=" + c.State.Node,
		"--state-dir=" + c.CSIStateDir(),
		"--registration-dir=" + filepath.Join(c.kubeletDir(), "plugins_registry"),
	}})
	if err != nil {
		return err
	}
	if err := c.waitFile(ctx, "csi-driver", c.csiSocket(), 30*time.Second); err != nil {
		return err
	}
	sidecars := c.opts.Binaries.CSISidecarDir()
	// The sidecars' default client rate (5 QPS) throttles them as soon as a few dozen snapshots
	// move at once, which would measure the throttle rather than the work.
	common := []string{"--kubeconfig=" + c.State.Kubeconfig, "--leader-election=false", "--kube-api-qps=50", "--kube-api-burst=100"}
	withDriver := append([]string{"--csi-address=" + c.csiSocket(), "--extra-create-metadata"}, common...)
	for _, comp := range []component{
		{name: "snapshot-controller", path: filepath.Join(sidecars, "snapshot-controller"), args: common},
		{name: "csi-provisioner", path: filepath.Join(sidecars, "csi-provisioner"), args: withDriver},
		{name: "csi-snapshotter", path: filepath.Join(sidecars, "csi-snapshotter"), args: withDriver},
	} {
		if err := c.launch(comp); err != nil {
			return err
		}
	}
	if err := c.createCSIObjects(ctx); err != nil {
		return err
	}
	if err := c.waitDriverRegistered(ctx, time.Minute); err != nil {
		return err
	}
	c.log.Info("CSI stack ready", "driver", CSIDriverName, "elapsed", time.Since(began).Round(time.Millisecond))
	return nil
}

func (c *Cluster) stopCSI() error {
	return c.stopAll(10*time.Second, append([]string{"csi-driver"}, csiSidecars...)...)
}

// buildCSIDriver compiles the test driver from this checkout into the cluster's directory, so the
// driver always matches the code under test (a warm build takes about a second).
func (c *Cluster) buildCSIDriver(ctx context.Context) (string, error) {
	out := filepath.Join(c.Dir, "bin", "cairn-csi-driver")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./test/csidriver/cmd/cairn-csi-driver")
	cmd.Dir = c.opts.Binaries.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the test CSI driver: %w: %s", err, msg)
	}
	return out, nil
}

func (c *Cluster) installSnapshotCRDs(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(c.opts.Binaries.CSISidecarDir(), "crd", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no snapshot CRDs under %s: build them with `make csi-sidecars`", c.opts.Binaries.CSISidecarDir())
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	return applyCRDFiles(ctx, cfg, files)
}

func (c *Cluster) createCSIObjects(ctx context.Context) error {
	client, err := c.Client()
	if err != nil {
		return err
	}
	attach, podInfo := false, false
	driver := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: CSIDriverName},
		Spec: storagev1.CSIDriverSpec{AttachRequired: &attach, PodInfoOnMount: &podInfo,
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}},
	}
	if _, err := client.StorageV1().CSIDrivers().Create(ctx, driver, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create CSIDriver: %w", err)
	}
	binding := storagev1.VolumeBindingImmediate
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: CSIStorageClass, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       CSIDriverName,
		VolumeBindingMode: &binding,
	}
	if _, err := client.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create StorageClass: %w", err)
	}
	return c.createSnapshotClasses(ctx)
}

// createSnapshotClasses creates the default VolumeSnapshotClass and the incremental one.
func (c *Cluster) createSnapshotClasses(ctx context.Context) error {
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	for _, class := range []*unstructured.Unstructured{
		snapshotClass(CSISnapshotClass, map[string]any{"snapshot.storage.kubernetes.io/is-default-class": "true"}, nil),
		snapshotClass(CSIIncrementalSnapshotClass, nil, map[string]any{"cairn.dev/snapshot-mode": "incremental"}),
	} {
		if _, err := dyn.Resource(VolumeSnapshotClassResource).Create(ctx, class, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create VolumeSnapshotClass %s: %w", class.GetName(), err)
		}
	}
	return nil
}

func snapshotClass(name string, annotations, parameters map[string]any) *unstructured.Unstructured {
	metadata := map[string]any{"name": name}
	if annotations != nil {
		metadata["annotations"] = annotations
	}
	class := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata":       metadata,
		"driver":         CSIDriverName,
		"deletionPolicy": "Delete",
	}}
	if parameters != nil {
		class.Object["parameters"] = parameters
	}
	return class
}

// waitDriverRegistered waits until the kubelet has registered the driver (it shows in the node's
// CSINode), which is when pods can mount its volumes.
func (c *Cluster) waitDriverRegistered(ctx context.Context, timeout time.Duration) error {
	client, err := c.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if registered(ctx, client, c.State.Node) {
			return nil
		}
		if _, ok := c.running("csi-driver"); !ok {
			return fmt.Errorf("the CSI driver exited; last lines of csi-driver.log:\n%s", c.tailLog("csi-driver", 8))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the kubelet did not register CSI driver %s within %s; see kubelet.log and csi-driver.log", CSIDriverName, timeout)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func registered(ctx context.Context, client kubernetes.Interface, node string) bool {
	n, err := client.StorageV1().CSINodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return false
	}
	return slices.ContainsFunc(n.Spec.Drivers, func(d storagev1.CSINodeDriver) bool { return d.Name == CSIDriverName })
}

// waitFile waits until a component has created path (a socket), failing early if it exits.
func (c *Cluster) waitFile(ctx context.Context, name, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if _, ok := c.running(name); !ok {
			return fmt.Errorf("%s exited; last lines of %s.log:\n%s", name, name, c.tailLog(name, 8))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not create %s within %s", name, path, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
