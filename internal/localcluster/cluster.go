package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Options says what to run and where.
type Options struct {
	// Name identifies the cluster; its directory is <StateRoot>/<Name>.
	Name string
	// StateRoot holds the clusters' directories (default: <state>/clusters, Binaries.State).
	StateRoot string
	// Binaries locates etcd and the Kubernetes components.
	Binaries Binaries
	// KubeVersion, when set, runs that Kubernetes version instead of Binaries.KubeVersion: its
	// components come from <cache>/bin/kubernetes-<KubeVersion>. hack/build-cluster-binaries.sh
	// builds Binaries.UpgradeKubeVersion's control plane (no kubelet, so no Node).
	KubeVersion string
	// Controllers adds kube-controller-manager and kube-scheduler, so that Deployments make Pods,
	// namespaces finalize and service accounts get made.
	Controllers bool
	// Node adds a real node (containerd, runc, kubelet); it implies Controllers.
	Node bool
	// CSI adds a CSI stack with volume snapshots (the test driver and the real sidecars, see
	// docs/local-cluster.md); it implies Node.
	CSI bool
	// CSIStateDir is where the CSI driver keeps volumes and snapshots (default: in the cluster's
	// directory). Clusters given the same directory share their storage backend, as two clusters
	// on one cloud's disks do.
	CSIStateDir string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// State is what a running cluster records in <dir>/cluster.json for later commands and tests.
type State struct {
	Name        string `json:"name"`
	Kubeconfig  string `json:"kubeconfig"`
	Server      string `json:"server"`
	EtcdPort    int    `json:"etcdPort"`
	EtcdPeer    int    `json:"etcdPeerPort"`
	APIPort     int    `json:"apiServerPort"`
	KubeVersion string `json:"kubeVersion,omitempty"`
	Controllers bool   `json:"controllers"`
	Node        string `json:"node,omitempty"`
	CSI         bool   `json:"csi,omitempty"`
	KubeletPort int    `json:"kubeletPort,omitempty"`
	KubeletHC   int    `json:"kubeletHealthzPort,omitempty"`
	ControllerP int    `json:"controllerManagerPort,omitempty"`
	SchedulerP  int    `json:"schedulerPort,omitempty"`
	Bridge      string `json:"bridge,omitempty"`
	PodSubnet   string `json:"podSubnet,omitempty"`
	StartedAt   string `json:"startedAt"`
}

// Cluster is one local cluster.
type Cluster struct {
	Dir   string
	State State
	opts  Options
	log   *slog.Logger
}

var validName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// Open returns the cluster called opts.Name without starting or stopping anything.
func Open(opts Options) (*Cluster, error) {
	if !validName.MatchString(opts.Name) {
		return nil, fmt.Errorf("cluster name %q is invalid: use 1-32 lowercase letters, digits and dashes", opts.Name)
	}
	if opts.StateRoot == "" {
		opts.StateRoot = filepath.Join(opts.Binaries.State, "clusters")
	}
	root, err := filepath.Abs(opts.StateRoot)
	if err != nil {
		return nil, fmt.Errorf("resolve state root: %w", err)
	}
	if opts.KubeVersion != "" {
		opts.Binaries.KubeVersion = opts.KubeVersion
	}
	if opts.CSI {
		opts.Node = true
	}
	if opts.Node {
		opts.Controllers = true
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{Dir: filepath.Join(root, opts.Name), opts: opts, log: log.With("cluster", opts.Name)}
	if data, err := os.ReadFile(c.statePath()); err == nil {
		_ = json.Unmarshal(data, &c.State) // a torn state file only means less to clean up by name
	}
	return c, nil
}

// Start stops whatever an earlier run of this cluster left behind, then starts a fresh cluster and
// waits until it serves (and its node is Ready, with Options.Node).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := Open(opts)
	if err != nil {
		return nil, err
	}
	if err := c.opts.Binaries.check(c.opts.Node || c.opts.Controllers, c.opts.Node, c.opts.CSI); err != nil {
		return nil, err
	}
	if err := c.Stop(ctx); err != nil {
		return nil, fmt.Errorf("clean up an earlier run of cluster %q: %w", c.opts.Name, err)
	}
	if err := c.start(ctx); err != nil {
		stopErr := c.Stop(context.WithoutCancel(ctx))
		return nil, errors.Join(fmt.Errorf("start cluster %q (logs in %s): %w", c.opts.Name, c.LogsDir(), err), stopErr)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	began := time.Now()
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("create cluster dir: %w", err)
	}
	ports, err := freePorts(8)
	if err != nil {
		return err
	}
	c.State = State{
		Name:        c.opts.Name,
		Kubeconfig:  filepath.Join(c.Dir, "kubeconfig"),
		EtcdPort:    ports[0],
		EtcdPeer:    ports[1],
		APIPort:     ports[2],
		KubeVersion: c.opts.Binaries.KubeVersion,
		StartedAt:   began.UTC().Format(time.RFC3339),
	}
	c.State.Server = fmt.Sprintf("https://127.0.0.1:%d", c.State.APIPort)
	if c.opts.Controllers {
		c.State.Controllers = true
		c.State.ControllerP, c.State.SchedulerP = ports[3], ports[4]
	}
	if c.opts.Node {
		c.State.Node = "cairn-" + c.opts.Name + "-node"
		c.State.KubeletPort, c.State.KubeletHC = ports[5], ports[6]
	}
	if err := c.writeState(); err != nil {
		return err
	}
	if err := c.writePKI(); err != nil {
		return err
	}
	if err := c.startControlPlane(ctx); err != nil {
		return err
	}
	c.log.Info("control plane ready", "server", c.State.Server, "elapsed", time.Since(began).Round(time.Millisecond))
	if c.opts.Controllers {
		if err := c.startControllers(); err != nil {
			return err
		}
	}
	if c.opts.Node {
		if err := c.startNode(ctx); err != nil {
			return err
		}
		c.log.Info("node ready", "node", c.State.Node, "elapsed", time.Since(began).Round(time.Millisecond))
	}
	if c.opts.CSI {
		c.State.CSI = true
		if err := c.writeState(); err != nil {
			return err
		}
		if err := c.startCSI(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Stop ends every process of the cluster and removes what it set up outside its directory, then the
// directory itself. It is safe on a cluster that is not running, half started, or left by a crash.
func (c *Cluster) Stop(ctx context.Context) error {
	var errs []error
	errs = append(errs, c.stopCSI())
	errs = append(errs, c.stopNode(ctx))
	errs = append(errs, c.stopAll(10*time.Second, "kube-scheduler", "kube-controller-manager", "kube-apiserver"))
	errs = append(errs, c.stop("etcd", 10*time.Second))
	for _, pid := range c.strayProcesses() {
		errs = append(errs, c.killProcess(pid, 5*time.Second))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := unmountUnder(c.Dir); err != nil {
		return err
	}
	if err := c.keepLogs(); err != nil {
		return err
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		return fmt.Errorf("remove cluster dir: %w", err)
	}
	return nil
}

// LogsDir is where the components' logs of the last run are kept once the cluster stops.
func (c *Cluster) LogsDir() string {
	return filepath.Join(filepath.Dir(filepath.Dir(c.Dir)), "logs", filepath.Base(c.Dir))
}

// keepLogs moves the logs of this run out of the cluster's directory before it is removed, so a
// failed start or test can be read afterwards.
func (c *Cluster) keepLogs() error {
	src := filepath.Join(c.Dir, "logs")
	if _, err := os.Stat(src); err != nil {
		return nil
	}
	dst := c.LogsDir()
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("remove old logs: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create logs dir: %w", err)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("keep logs: %w", err)
	}
	return nil
}

func (c *Cluster) statePath() string { return filepath.Join(c.Dir, "cluster.json") }

func (c *Cluster) writeState() error {
	data, err := json.MarshalIndent(c.State, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cluster state: %w", err)
	}
	if err := os.WriteFile(c.statePath(), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	return nil
}

// Running reports whether the cluster's apiserver process is alive.
func (c *Cluster) Running() bool {
	_, ok := c.running("kube-apiserver")
	return ok
}
