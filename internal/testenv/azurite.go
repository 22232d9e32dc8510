package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

// The storage account every Azurite serves, with its published key (not a secret).
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

const (
	// azuriteReadyTimeout: Azurite takes about 9 s to answer on a loaded machine.
	azuriteReadyTimeout = 60 * time.Second
	azuriteStopTimeout  = 10 * time.Second
	azuriteStartTries   = 3
)

// AzureServer is an Azure Blob Storage endpoint for tests.
type AzureServer struct {
	Endpoint         string // the blob service URL, http://127.0.0.1:PORT/devstoreaccount1
	Account, Key     string // shared key credentials of the account
	ConnectionString string // the same as a connection string
}

// StartAzurite returns an Azure Blob endpoint for the test, stopped when the test ends. With
// CAIRN_TEST_AZURE_ENDPOINT set (a blob service URL serving devstoreaccount1 with its well-known
// key) it uses that and starts nothing. Otherwise it starts Azurite, as installed by
// hack/install-azurite.sh, on a free loopback port with its data in a temporary directory.
func StartAzurite(t testing.TB) AzureServer {
	t.Helper()
	if ep := os.Getenv("CAIRN_TEST_AZURE_ENDPOINT"); ep != "" {
		return newAzureServer(strings.TrimSuffix(ep, "/"))
	}
	bin, err := azuriteBinary()
	if err != nil {
		t.Fatal(err)
	}
	location := t.TempDir()
	var lastErr error
	for range azuriteStartTries {
		// The port is free when chosen but another process may take it before Azurite binds it:
		// then Azurite exits and a new port is tried.
		port, err := freeLoopbackPort()
		if err != nil {
			t.Fatalf("azurite: find a free port: %v", err)
		}
		began := time.Now()
		p, err := startAzuriteProcess(bin, port, location)
		if err != nil {
			t.Fatalf("azurite: %v", err)
		}
		srv := newAzureServer(fmt.Sprintf("http://127.0.0.1:%d/%s", port, AzuriteAccount))
		if err := p.waitReady(srv.Endpoint); err != nil {
			lastErr = err
			exited := p.exited()
			if stopErr := p.stop(); stopErr != nil {
				t.Logf("azurite: stop: %v", stopErr)
			}
			if !exited {
				break // it runs but does not answer: another port will not help
			}
			continue
		}
		t.Logf("azurite: %s up in %s", srv.Endpoint, time.Since(began).Round(time.Millisecond))
		t.Cleanup(func() {
			if err := p.stop(); err != nil {
				t.Errorf("azurite: stop: %v", err)
			}
		})
		return srv
	}
	t.Fatalf("azurite did not start: %v", lastErr)
	return AzureServer{}
}

func newAzureServer(endpoint string) AzureServer {
	return AzureServer{
		Endpoint: endpoint,
		Account:  AzuriteAccount,
		Key:      AzuriteKey,
		ConnectionString: "DefaultEndpointsProtocol=http;AccountName=" + AzuriteAccount +
			";AccountKey=" + AzuriteKey + ";BlobEndpoint=" + endpoint + ";",
	}
}

// CreateContainer creates the container name, failing the test if it cannot.
func (s AzureServer) CreateContainer(t testing.TB, name string) {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(s.Account, s.Key)
	if err != nil {
		t.Fatalf("azurite: credentials: %v", err)
	}
	c, err := container.NewClientWithSharedKeyCredential(s.Endpoint+"/"+name, cred, nil)
	if err != nil {
		t.Fatalf("azurite: container client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Create(ctx, nil); err != nil {
		t.Fatalf("azurite: create container %q: %v", name, err)
	}
}

// azuriteBinary finds azurite-blob in the cache that hack/install-azurite.sh fills.
func azuriteBinary() (string, error) {
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return "", err
	}
	version, err := azuriteVersion(filepath.Join(bins.Repo, "hack", "versions.sh"))
	if err != nil {
		return "", err
	}
	bin := filepath.Join(bins.Cache, "npm", "azurite-"+version, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("azurite not found at %s: run hack/install-azurite.sh (make test-servers)", bin)
	}
	return bin, nil
}

// azuriteVersion reads AZURITE_VERSION from hack/versions.sh, the file the install script uses.
func azuriteVersion(versionsFile string) (string, error) {
	data, err := os.ReadFile(versionsFile)
	if err != nil {
		return "", fmt.Errorf("read azurite version: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "AZURITE_VERSION="); ok && v != "" {
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", fmt.Errorf("%s does not set AZURITE_VERSION", versionsFile)
}

// azuriteProcess is a running azurite-blob.
type azuriteProcess struct {
	cmd  *exec.Cmd
	out  *azuriteOutput
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

func startAzuriteProcess(bin string, port int, location string) (*azuriteProcess, error) {
	cmd := exec.Command(bin,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--location", location, "--skipApiVersionCheck", "--disableTelemetry", "--silent")
	out := &azuriteOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that stop reaches any child node starts; and do not wait for
	// the output pipes forever if such a child outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &azuriteProcess{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls the endpoint until Azurite answers any HTTP response.
func (p *azuriteProcess) waitReady(endpoint string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(azuriteReadyTimeout)
	for {
		resp, err := client.Get(endpoint + "?comp=list")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("azurite exited before answering (%w); output:\n%s", p.err, p.out.tail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("azurite did not answer at %s within %s (last error: %w); output:\n%s",
				endpoint, azuriteReadyTimeout, err, p.out.tail())
		}
	}
}

func (p *azuriteProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to Azurite's process group, then SIGKILL if it has not exited in time, and
// waits for it. The group is signalled only while its leader, our child, still runs.
func (p *azuriteProcess) stop() error {
	if p.exited() {
		return nil
	}
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal azurite: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(azuriteStopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("azurite did not exit within %s of SIGTERM; killed", azuriteStopTimeout)
	}
}

// azuriteOutput keeps the last bytes Azurite wrote, for error messages.
type azuriteOutput struct {
	mu  sync.Mutex
	buf []byte
}

const azuriteOutputKeep = 8 << 10

func (o *azuriteOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if len(o.buf) > azuriteOutputKeep {
		o.buf = append([]byte(nil), o.buf[len(o.buf)-azuriteOutputKeep:]...)
	}
	return len(p), nil
}

func (o *azuriteOutput) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.buf) == 0 {
		return "(none)"
	}
	return string(o.buf)
}
