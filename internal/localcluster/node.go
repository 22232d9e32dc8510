package localcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func (c *Cluster) containerdDir() string { return filepath.Join(c.Dir, "containerd") }
func (c *Cluster) containerdSock() string {
	return filepath.Join(c.containerdDir(), "state", "containerd.sock")
}
func (c *Cluster) kubeletDir() string { return filepath.Join(c.Dir, "kubelet") }

// startNode runs containerd and the kubelet and waits until the node is Ready.
func (c *Cluster) startNode(ctx context.Context) error {
	if err := c.allocateNetwork(); err != nil {
		return err
	}
	if err := c.recordHostPaths(); err != nil {
		return err
	}
	if err := c.writeState(); err != nil {
		return err
	}
	if err := c.createCgroupRoot(); err != nil {
		return err
	}
	for _, d := range []string{c.containerdDir(), filepath.Join(c.Dir, "cni", "net.d"), c.kubeletDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	images, err := buildImages(ctx, c.opts.Binaries)
	if err != nil {
		return err
	}
	if err := c.writeCNIConfig(); err != nil {
		return err
	}
	cfg := filepath.Join(c.containerdDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte(c.containerdConfig()), 0o644); err != nil {
		return fmt.Errorf("write containerd config: %w", err)
	}
	if err := addHostsEntry(hostsFile, c.State.Node, c.Dir); err != nil {
		return err
	}
	kcfg := filepath.Join(c.kubeletDir(), "config.yaml")
	if err := os.WriteFile(kcfg, []byte(c.kubeletConfig()), 0o644); err != nil {
		return fmt.Errorf("write kubelet config: %w", err)
	}
	// On a loaded machine containerd has been seen to shut down right after its first start,
	// taking the kubelet with it; a second attempt has always come up.
	for attempt := 1; attempt <= 2; attempt++ {
		if err = c.startRuntimeAndKubelet(ctx, cfg, kcfg, images); err == nil {
			return nil
		}
		if attempt == 1 && ctx.Err() == nil {
			c.log.Warn("node did not come up; retrying once", "error", err)
			_ = c.stop("kubelet", 10*time.Second)
			_ = c.stop("containerd", 10*time.Second)
			for _, pid := range c.strayNodeProcesses() {
				_ = c.killProcess(pid, 5*time.Second)
			}
			for _, name := range []string{"kubelet", "containerd"} {
				_ = os.Rename(c.logFile(name), c.logFile(name+".attempt1"))
			}
		}
	}
	return err
}

func (c *Cluster) startRuntimeAndKubelet(ctx context.Context, cfg, kcfg string, images []string) error {
	if err := c.launch(component{name: "containerd", path: mustLookPath("containerd"), args: []string{"--config", cfg}}); err != nil {
		return err
	}
	if err := c.waitContainerd(ctx); err != nil {
		return err
	}
	for _, img := range images {
		out, err := exec.CommandContext(ctx, "ctr", "--address", c.containerdSock(), "-n", "k8s.io", "images", "import", img).CombinedOutput()
		if err != nil {
			return fmt.Errorf("import image %s: %w: %s", img, err, out)
		}
	}
	if err := c.waitContainerd(ctx); err != nil {
		return err
	}
	err := c.launch(component{name: "kubelet", path: c.opts.Binaries.Kube("kubelet"), args: []string{
		"--config=" + kcfg,
		"--kubeconfig=" + c.kubeconfigFor("kubelet"),
		"--root-dir=" + c.kubeletDir(),
		"--hostname-override=" + c.State.Node,
		"--v=1",
	}})
	if err != nil {
		return err
	}
	return c.waitNodeReady(ctx, 3*time.Minute)
}

func (c *Cluster) writeCNIConfig() error {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "cairn-" + c.opts.Name,
		"plugins": []any{map[string]any{
			"type":      "bridge",
			"bridge":    c.State.Bridge,
			"isGateway": true,
			"ipMasq":    false,
			"ipam": map[string]any{
				"type":    "host-local",
				"ranges":  [][]map[string]string{{{"subnet": c.State.PodSubnet}}},
				"dataDir": filepath.Join(c.Dir, "cni", "ipam"),
			},
		}},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode CNI config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "cni", "net.d", "10-cairn.conflist"), data, 0o644); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	return nil
}

// containerdConfig keeps every path under the cluster's directory, so a second containerd (or a
// system one) never shares state with it.
func (c *Cluster) containerdConfig() string {
	d := c.containerdDir()
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  # This VM lacks CAP_SYS_RESOURCE: without this runc fails writing oom_score_adj.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = %[7]q
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[8]q
    conf_dir = %[9]q
`, filepath.Join(d, "root"), filepath.Join(d, "state"), c.containerdSock(), filepath.Join(d, "state", "containerd.ttrpc.sock"),
		filepath.Join(d, "opt"), "docker.io/"+PauseImage, filepath.Join(d, "runc"), cniBinDir, filepath.Join(c.Dir, "cni", "net.d"))
}

func (c *Cluster) kubeletConfig() string {
	pki := c.pkiDir()
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %[1]d
healthzBindAddress: 127.0.0.1
healthzPort: %[2]d
readOnlyPort: 0
tlsCertFile: %[3]q
tlsPrivateKeyFile: %[4]q
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %[5]q}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://%[6]s
cgroupDriver: cgroupfs
cgroupRoot: %[7]s
podLogsDir: %[8]s
failCgroupV1: false
failSwapOn: false
# Images are imported by hand (no registry): never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%"}
serializeImagePulls: false
staticPodPath: ""
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
`, c.State.KubeletPort, c.State.KubeletHC, filepath.Join(pki, "kubelet-serving.crt"), filepath.Join(pki, "kubelet-serving.key"),
		filepath.Join(pki, "ca.crt"), c.containerdSock(), c.cgroupRoot(), c.podLogsDir())
}

func (c *Cluster) waitContainerd(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := exec.CommandContext(ctx, "ctr", "--address", c.containerdSock(), "version").Run()
		if err == nil {
			return nil
		}
		if _, ok := c.running("containerd"); !ok {
			return fmt.Errorf("containerd exited; last lines of containerd.log:\n%s", c.tailLog("containerd", 8))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("containerd did not answer on %s: %w", c.containerdSock(), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) waitNodeReady(ctx context.Context, timeout time.Duration) error {
	client, err := c.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		if _, ok := c.running("kubelet"); !ok {
			return fmt.Errorf("kubelet exited (%s); last lines of kubelet.log:\n%s", c.processReport("kubelet"), c.tailLog("kubelet", 8))
		}
		last = nodeCondition(ctx, client, c.State.Node)
		if last == "Ready" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not Ready after %s (%s); see kubelet.log", c.State.Node, timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func nodeCondition(ctx context.Context, client kubernetes.Interface, name string) string {
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "not registered: " + err.Error()
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			if cond.Status == corev1.ConditionTrue {
				return "Ready"
			}
			return "NotReady: " + cond.Message
		}
	}
	return "no Ready condition yet"
}

// stopNode tears the node down in the order that leaves nothing behind: the kubelet first (so it
// restarts nothing), then every pod sandbox through the CRI (which unmounts volumes' rootfs and
// removes the pods' network namespaces), then containerd, its shims, mounts and the bridge.
func (c *Cluster) stopNode(ctx context.Context) error {
	var errs []error
	errs = append(errs, c.stop("kubelet", 15*time.Second))
	if _, ok := c.running("containerd"); ok {
		errs = append(errs, removePodSandboxes(ctx, c.containerdSock()))
	}
	errs = append(errs, c.stop("containerd", 10*time.Second))
	if c.State.Node != "" {
		for _, pid := range c.shimProcesses() {
			errs = append(errs, c.killProcess(pid, 5*time.Second))
		}
		errs = append(errs, c.removeCgroupRoot())
		errs = append(errs, unmountUnder(c.Dir))
		errs = append(errs, removeHostsEntry(hostsFile, c.Dir))
		errs = append(errs, c.cleanHostPaths(c.otherNodeRunning()))
		if c.State.Bridge != "" {
			errs = append(errs, deleteLink(c.State.Bridge))
		}
		removeEmptyDirs(shimSocketDir, filepath.Dir(shimSocketDir))
	}
	return errors.Join(errs...)
}

// shimSocketDir is where containerd 1.6 puts its shims' sockets, whatever its state directory.
const shimSocketDir = "/run/containerd/s"

// removeEmptyDirs removes each directory that is empty; one in use by another containerd stays.
func removeEmptyDirs(dirs ...string) {
	for _, d := range dirs {
		_ = syscall.Rmdir(d)
	}
}

func deleteLink(name string) error {
	if _, err := os.Stat(filepath.Join("/sys/class/net", name)); err != nil {
		return nil
	}
	if out, err := exec.Command("ip", "link", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("delete network device %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func mustLookPath(cmd string) string {
	if p, err := exec.LookPath(cmd); err == nil {
		return p
	}
	return cmd // check() already failed with an install hint if it is missing
}

// strayNodeProcesses lists live processes of this cluster's node (kubelet, containerd, shims) that
// no pid file names any more.
func (c *Cluster) strayNodeProcesses() []int {
	var pids []int
	for _, pid := range c.strayProcesses() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(c.kubeletDir())) || bytes.Contains(cmdline, []byte(c.containerdDir())) {
			pids = append(pids, pid)
		}
	}
	return pids
}
