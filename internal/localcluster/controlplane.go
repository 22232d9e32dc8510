package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	serviceCIDR = "10.0.0.0/24"
	saIssuer    = "https://kubernetes.default.svc.cluster.local"
)

func (c *Cluster) pkiDir() string { return filepath.Join(c.Dir, "pki") }

// writePKI makes the CA, the serving and client certificates of every component and their kubeconfigs.
func (c *Cluster) writePKI() error {
	p, err := newPKI(c.pkiDir())
	if err != nil {
		return err
	}
	loopback := []net.IP{net.ParseIP("127.0.0.1")}
	specs := []certSpec{
		{name: "apiserver", cn: "kube-apiserver", server: true, ips: append(loopback, net.ParseIP("10.0.0.1")),
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}},
		{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, client: true},
		{name: "admin", cn: "cairn-admin", orgs: []string{"system:masters"}, client: true},
		{name: "controller-manager", cn: "system:kube-controller-manager", client: true},
		{name: "scheduler", cn: "system:kube-scheduler", client: true},
	}
	if c.State.Node != "" {
		specs = append(specs,
			certSpec{name: "kubelet", cn: "system:node:" + c.State.Node, orgs: []string{"system:nodes"}, client: true},
			certSpec{name: "kubelet-serving", cn: c.State.Node, server: true, ips: loopback, dns: []string{c.State.Node, "localhost"}})
	}
	for _, s := range specs {
		if err := p.issue(s); err != nil {
			return err
		}
	}
	if err := p.serviceAccountKey(); err != nil {
		return err
	}
	for name, file := range map[string]string{"admin": c.State.Kubeconfig,
		"controller-manager": c.kubeconfigFor("controller-manager"),
		"scheduler":          c.kubeconfigFor("scheduler"),
		"kubelet":            c.kubeconfigFor("kubelet")} {
		if name == "kubelet" && c.State.Node == "" {
			continue
		}
		if err := c.writeKubeconfig(file, name); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) kubeconfigFor(user string) string {
	return filepath.Join(c.pkiDir(), user+".kubeconfig")
}

// writeKubeconfig embeds the certificates so the file can be copied elsewhere and still work.
func (c *Cluster) writeKubeconfig(path, user string) error {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(c.pkiDir(), name)) }
	ca, err := read("ca.crt")
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	crt, err := read(user + ".crt")
	if err != nil {
		return fmt.Errorf("read %s certificate: %w", user, err)
	}
	key, err := read(user + ".key")
	if err != nil {
		return fmt.Errorf("read %s key: %w", user, err)
	}
	contextName := "cairn-" + c.opts.Name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: c.State.Server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: user}
	cfg.CurrentContext = contextName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

func (c *Cluster) startControlPlane(ctx context.Context) error {
	pki := c.pkiDir()
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", c.State.EtcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", c.State.EtcdPeer)
	err := c.launch(component{name: "etcd", path: c.opts.Binaries.Etcd(), args: []string{
		"--name=" + c.opts.Name,
		"--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=" + c.opts.Name + "=" + peerURL,
		"--unsafe-no-fsync",                // a throwaway cluster: speed over durability
		"--quota-backend-bytes=8589934592", // room for scale tests with hundreds of thousands of objects
		"--log-level=warn",
	}})
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, etcdURL+"/health", nil, 60*time.Second); err != nil {
		return fmt.Errorf("etcd did not become healthy: %w", err)
	}
	f := func(name string) string { return filepath.Join(pki, name) }
	err = c.launch(component{name: "kube-apiserver", path: c.opts.Binaries.Kube("kube-apiserver"), args: []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.State.APIPort),
		"--tls-cert-file=" + f("apiserver.crt"), "--tls-private-key-file=" + f("apiserver.key"),
		"--client-ca-file=" + f("ca.crt"),
		"--service-account-issuer=" + saIssuer, "--api-audiences=" + saIssuer,
		"--service-account-key-file=" + f("sa.pub"), "--service-account-signing-key-file=" + f("sa.key"),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		// Only loopback may be a network target here: the apiserver reaches the kubelet by its node
		// name, which /etc/hosts maps to 127.0.0.1.
		"--kubelet-preferred-address-types=Hostname",
		"--kubelet-client-certificate=" + f("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + f("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority=" + f("ca.crt"),
		// A loopback advertise address cannot be an Endpoints address; nothing in-cluster needs it.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}})
	if err != nil {
		return err
	}
	tlsCfg, err := c.adminTLS()
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, c.State.Server+"/readyz", tlsCfg, 120*time.Second); err != nil {
		return fmt.Errorf("kube-apiserver did not become ready: %w", err)
	}
	return nil
}

func (c *Cluster) adminTLS() (*tls.Config, error) {
	pki := c.pkiDir()
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		return nil, fmt.Errorf("load admin certificate: %w", err)
	}
	ca, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// waitHTTP polls url until it answers 200 or the timeout passes.
func waitHTTP(ctx context.Context, url string, tlsCfg *tls.Config, timeout time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
