package localcluster

import (
	"path/filepath"
	"strconv"
)

// startControllers runs kube-controller-manager and kube-scheduler, each with its own identity.
// Their readiness shows in what they do (Pods scheduled, service accounts made), which the node and
// the tests wait for.
func (c *Cluster) startControllers() error {
	pki := c.pkiDir()
	cm := c.kubeconfigFor("controller-manager")
	err := c.launch(component{name: "kube-controller-manager", path: c.opts.Binaries.Kube("kube-controller-manager"), args: []string{
		"--kubeconfig=" + cm, "--authentication-kubeconfig=" + cm, "--authorization-kubeconfig=" + cm,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(c.State.ControllerP),
		"--service-account-private-key-file=" + filepath.Join(pki, "sa.key"),
		"--root-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--cluster-signing-cert-file=" + filepath.Join(pki, "ca.crt"),
		"--cluster-signing-key-file=" + filepath.Join(pki, "ca.key"),
		"--use-service-account-credentials",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--leader-elect=false",
		"--profiling=false",
		// The volume binder's periodic pass releases and binds static volumes; its default of 15 s
		// is most of what a test of them waits.
		"--pvclaimbinder-sync-period=2s",
	}})
	if err != nil {
		return err
	}
	sc := c.kubeconfigFor("scheduler")
	return c.launch(component{name: "kube-scheduler", path: c.opts.Binaries.Kube("kube-scheduler"), args: []string{
		"--kubeconfig=" + sc, "--authentication-kubeconfig=" + sc, "--authorization-kubeconfig=" + sc,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(c.State.SchedulerP),
		"--leader-elect=false",
		"--profiling=false",
	}})
}
