package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

// VersityGWVersion is the versitygw release hack/install-versitygw.sh installs.
const VersityGWVersion = "v1.8.0"

const (
	versityStartTimeout = 30 * time.Second
	versityStopTimeout  = 10 * time.Second
)

// S3Server is an S3 service for tests.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// StartVersityGW returns an S3 server for t: the one CAIRN_TEST_S3_ENDPOINT names (with
// CAIRN_TEST_S3_ACCESS_KEY and CAIRN_TEST_S3_SECRET_KEY), or else a fresh versitygw over a
// temporary directory on a free loopback port, stopped when t ends. A missing versitygw binary
// fails the test with how to install it.
func StartVersityGW(t testing.TB) S3Server {
	t.Helper()
	if endpoint := os.Getenv("CAIRN_TEST_S3_ENDPOINT"); endpoint != "" {
		return S3Server{
			Endpoint:  endpoint,
			AccessKey: os.Getenv("CAIRN_TEST_S3_ACCESS_KEY"),
			SecretKey: os.Getenv("CAIRN_TEST_S3_SECRET_KEY"),
		}
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	binary := filepath.Join(bins.Cache, "tools", "versitygw-"+VersityGWVersion, "versitygw")
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("versitygw not found at %s: run hack/install-versitygw.sh (make test-servers)", binary)
	}

	dir := t.TempDir()
	buckets := filepath.Join(dir, "buckets")
	versions := filepath.Join(dir, "versions")
	for _, d := range []string{buckets, versions} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	srv := S3Server{AccessKey: "cairn-" + randomHex(t, 6), SecretKey: randomHex(t, 20)}

	// The free port is found by binding and releasing it, so another process may take it in
	// between: then versitygw exits and the start is retried on a new port.
	var lastErr error
	for range 3 {
		port, err := freeLoopbackPort()
		if err != nil {
			t.Fatalf("versitygw: find a free port: %v", err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		p, err := startVersity(binary, addr, buckets, versions, srv, filepath.Join(dir, "versitygw.log"))
		if err != nil {
			t.Fatalf("versitygw: %v", err)
		}
		if err := p.waitReady("http://" + addr + "/"); err != nil {
			_ = p.stop()
			lastErr = fmt.Errorf("%w\n%s", err, p.logTail())
			continue
		}
		t.Cleanup(func() {
			if err := p.stop(); err != nil {
				t.Errorf("versitygw: stop: %v", err)
			}
		})
		srv.Endpoint = "http://" + addr
		return srv
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return S3Server{}
}

// CreateBucket makes the bucket name on the server.
func (s S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	s.makeBucket(t, name, false)
}

// CreateLockedBucket makes the bucket name with object lock enabled (and so versioning), as
// retention periods need.
func (s S3Server) CreateLockedBucket(t testing.TB, name string) {
	t.Helper()
	s.makeBucket(t, name, true)
}

func (s S3Server) makeBucket(t testing.TB, name string, objectLock bool) {
	t.Helper()
	client, err := s.client()
	if err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: "us-east-1", ObjectLocking: objectLock}); err != nil {
		t.Fatalf("create bucket %s at %s: %v", name, s.Endpoint, err)
	}
}

func (s S3Server) client() (*minio.Client, error) {
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad endpoint %q", s.Endpoint)
	}
	return minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type versityProcess struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

// startVersity runs ROOT_ACCESS_KEY_ID=... ROOT_SECRET_ACCESS_KEY=... versitygw --port ADDR
// --quiet posix --versioning-dir VERSIONS BUCKETS, its output going to logPath.
func startVersity(binary, addr, buckets, versions string, srv S3Server, logPath string) (*versityProcess, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "--- versitygw on %s\n", addr)
	cmd := exec.Command(binary, "--port", addr, "--quiet", "posix", "--versioning-dir", versions, buckets)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+srv.AccessKey, "ROOT_SECRET_ACCESS_KEY="+srv.SecretKey)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &versityProcess{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls url until versitygw answers (any status; its Server header tells it from
// another program that took the port first).
func (p *versityProcess) waitReady(url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(versityStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("versitygw exited: %w", p.waitErr)
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if server := resp.Header.Get("Server"); !strings.EqualFold(server, "versitygw") {
				return fmt.Errorf("%s is answered by %q, not versitygw", url, server)
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("versitygw did not answer at %s within %s", url, versityStartTimeout)
}

// stop sends SIGTERM, then SIGKILL if the process has not exited in time, and waits for it.
func (p *versityProcess) stop() error {
	var err error
	p.once.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(versityStopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.exited
			err = fmt.Errorf("versitygw did not exit %s after SIGTERM; killed", versityStopTimeout)
		}
	})
	return err
}

// logTail returns the end of the server's output, for failure messages.
func (p *versityProcess) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no versitygw output)"
		}
		return err.Error()
	}
	data = bytes.TrimSpace(data)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return "versitygw output:\n" + strings.TrimSpace(string(data))
}
