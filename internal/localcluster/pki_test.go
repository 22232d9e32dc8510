package localcluster

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestPKIIssuesCertificatesTheCAVerifies(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spec := certSpec{name: "srv", cn: "kube-apiserver", server: true, dns: []string{"localhost"}, ips: []net.IP{net.ParseIP("127.0.0.1")}}
	if err := p.issue(spec); err != nil {
		t.Fatal(err)
	}
	if err := p.issue(certSpec{name: "cli", cn: "cairn-admin", orgs: []string{"system:masters"}, client: true}); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	srv := readCert(t, p.path("srv.crt"))
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
		t.Errorf("server certificate does not verify for localhost: %v", err)
	}
	if err := srv.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("server certificate lacks the loopback IP: %v", err)
	}
	cli := readCert(t, p.path("cli.crt"))
	if _, err := cli.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify: %v", err)
	}
	if k, ok := cli.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != keyBits {
		t.Errorf("client key is %T, want RSA-%d as kubeadm makes", cli.PublicKey, keyBits)
	}
	if got := cli.Subject.Organization; len(got) != 1 || got[0] != "system:masters" {
		t.Errorf("client organization = %v, want [system:masters]", got)
	}
	info, err := os.Stat(p.path("cli.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("private key mode = %v, want 0600", info.Mode().Perm())
	}
}

func TestServiceAccountKeyPair(t *testing.T) {
	dir := t.TempDir()
	p, err := newPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.serviceAccountKey(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("sa.pub is not a PEM public key")
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Fatal(err)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
