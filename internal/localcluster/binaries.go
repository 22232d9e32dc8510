package localcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries locates what a local cluster runs. The Kubernetes components and etcd come from the
// cache filled by hack/build-cluster-binaries.sh; the node's runtime comes from Debian packages.
type Binaries struct {
	Repo        string // the cairn checkout (holds hack/versions.sh)
	Cache       string // CAIRN_CACHE: binaries and tools built once per user, kept by version
	State       string // CAIRN_STATE: this checkout's clusters, logs, images and test binaries
	KubeVersion string
	EtcdVersion string
	// UpgradeKubeVersion is the newer Kubernetes the cluster-upgrade tests restore into
	// (UPGRADE_KUBE_VERSION); only its control plane is built. Empty if versions.sh sets none.
	UpgradeKubeVersion string
	// CSI sidecar versions (hack/build-csi-sidecars.sh).
	CSIProvisionerVersion string
	CSISnapshotterVersion string
	// PreviousReplicaRelease is the commit of the previous release that runs as vault replicas
	// (hack/build-previous-release.sh builds it); empty if versions.sh sets none.
	PreviousReplicaRelease string
}

// DefaultBinaries finds the checkout from the working directory upwards and reads the versions the
// build script uses from hack/versions.sh. The cache is CAIRN_CACHE, else the user's cache
// directory's cairn folder (~/.cache/cairn), as hack/versions.sh has it; the state is CAIRN_STATE,
// else the checkout's .cache folder.
func DefaultBinaries() (Binaries, error) {
	repo, err := findRepo()
	if err != nil {
		return Binaries{}, err
	}
	vars, err := readVersions(filepath.Join(repo, "hack", "versions.sh"))
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{Repo: repo, Cache: os.Getenv("CAIRN_CACHE"), State: os.Getenv("CAIRN_STATE"), KubeVersion: vars["KUBE_VERSION"], EtcdVersion: vars["ETCD_VERSION"],
		UpgradeKubeVersion:    vars["UPGRADE_KUBE_VERSION"],
		CSIProvisionerVersion: vars["CSI_PROVISIONER_VERSION"], CSISnapshotterVersion: vars["CSI_SNAPSHOTTER_VERSION"],
		PreviousReplicaRelease: vars["PREVIOUS_REPLICA_RELEASE"]}
	if b.Cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return Binaries{}, fmt.Errorf("no cache directory for the cluster binaries: set CAIRN_CACHE: %w", err)
		}
		b.Cache = filepath.Join(dir, "cairn")
	}
	if b.State == "" {
		b.State = filepath.Join(repo, ".cache")
	}
	if b.KubeVersion == "" || b.EtcdVersion == "" {
		return Binaries{}, errors.New("hack/versions.sh must set KUBE_VERSION and ETCD_VERSION")
	}
	return b, nil
}

// KubeDir holds kube-apiserver, kubectl, kube-controller-manager, kube-scheduler and kubelet (no
// kubelet for UpgradeKubeVersion).
func (b Binaries) KubeDir() string { return filepath.Join(b.Cache, "bin", "kubernetes-"+b.KubeVersion) }

// Etcd is the etcd server binary.
func (b Binaries) Etcd() string { return filepath.Join(b.Cache, "bin", "etcd-"+b.EtcdVersion, "etcd") }

// Kube returns the path of one Kubernetes component.
func (b Binaries) Kube(component string) string { return filepath.Join(b.KubeDir(), component) }

// CSISidecarDir holds csi-provisioner, csi-snapshotter, snapshot-controller and the snapshot CRDs.
func (b Binaries) CSISidecarDir() string {
	return filepath.Join(b.Cache, "bin", "csi-sidecars-"+b.CSIProvisionerVersion+"-"+b.CSISnapshotterVersion)
}

// PreviousCairn is the cairn binary of PreviousReplicaRelease.
func (b Binaries) PreviousCairn() string {
	return filepath.Join(b.Cache, "bin", "cairn-"+b.PreviousReplicaRelease, "cairn")
}

// EnvtestAssets is a folder holding etcd, kube-apiserver and kubectl, for KUBEBUILDER_ASSETS.
func (b Binaries) EnvtestAssets() string {
	return filepath.Join(b.Cache, "bin", "envtest-"+b.KubeVersion+"-"+b.EtcdVersion)
}

// nodePackages are the Debian packages a real node needs, by the command each provides.
var nodePackages = map[string]string{
	"containerd": "containerd",
	"ctr":        "containerd",
	"runc":       "runc",
	"ip":         "iproute2",
}

const (
	cniBinDir     = "/usr/lib/cni"
	busyboxBinary = "/bin/busybox"
)

// check fails with a message saying how to install whatever is missing.
func (b Binaries) check(controllers, node, csi bool) error {
	var missing []string
	want := []string{b.Etcd(), b.Kube("kube-apiserver"), b.Kube("kubectl")}
	if controllers {
		want = append(want, b.Kube("kube-controller-manager"), b.Kube("kube-scheduler"))
	}
	if node {
		want = append(want, b.Kube("kubelet"))
	}
	for _, p := range want {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if csi {
		var sidecars []string
		for _, s := range csiSidecars {
			if _, err := os.Stat(filepath.Join(b.CSISidecarDir(), s)); err != nil {
				sidecars = append(sidecars, s)
			}
		}
		if len(sidecars) > 0 {
			return fmt.Errorf("CSI sidecars missing (%s in %s): build them with `make csi-sidecars` (hack/build-csi-sidecars.sh)",
				strings.Join(sidecars, ", "), b.CSISidecarDir())
		}
	}
	if len(missing) > 0 {
		how := "`make cluster-binaries` (hack/build-cluster-binaries.sh)"
		if b.KubeVersion == b.UpgradeKubeVersion {
			how = "`make upgrade-binaries` (hack/build-cluster-binaries.sh upgrade)"
		}
		return fmt.Errorf("cluster binaries missing (%s): build them with %s", strings.Join(missing, ", "), how)
	}
	if !node {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("a real node needs root (containerd, mounts, network namespaces): run as root or drop the node option")
	}
	var pkgs []string
	for cmd, pkg := range nodePackages {
		if _, err := exec.LookPath(cmd); err != nil {
			pkgs = append(pkgs, pkg)
		}
	}
	if _, err := os.Stat(filepath.Join(cniBinDir, "bridge")); err != nil {
		pkgs = append(pkgs, "containernetworking-plugins")
	}
	if _, err := os.Stat(busyboxBinary); err != nil {
		pkgs = append(pkgs, "busybox-static")
	}
	if len(pkgs) > 0 {
		return fmt.Errorf("a real node needs Debian packages that are not installed: apt-get install -y %s", strings.Join(dedupe(pkgs), " "))
	}
	if _, err := exec.LookPath("go"); err != nil {
		return errors.New("a real node builds its pause image with the Go toolchain: put go on PATH")
	}
	return nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

const modulePath = "github.com/cairnbackup/cairn"

func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside a cairn checkout (no go.mod of %s above the working directory)", modulePath)
		}
		dir = parent
	}
}

// readVersions takes the plain NAME=value lines of a shell file.
func readVersions(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && !strings.ContainsAny(value, "$ ") && name == strings.ToUpper(name) {
			vars[name] = value
		}
	}
	return vars, sc.Err()
}

// Version returns NAME as hack/versions.sh pins it: the version its install script builds.
func (b Binaries) Version(name string) (string, error) {
	vars, err := readVersions(filepath.Join(b.Repo, "hack", "versions.sh"))
	if err != nil {
		return "", err
	}
	if v := vars[name]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("hack/versions.sh sets no %s", name)
}
