package csidriver

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const testNode = "node-1"

type testDriver struct {
	srv    *Server
	socket string
	state  string
	id     csi.IdentityClient
	ctrl   csi.ControllerClient
	node   csi.NodeClient
}

// startDriver starts a driver on a socket in a fresh temporary directory, with its state in
// state and, if regDir is set, registration there, and connects a client to it.
func startDriver(t *testing.T, state, regDir string) *testDriver {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "csi.sock")
	srv, err := Start(t.Context(), Config{
		Endpoint:        "unix://" + socket,
		NodeID:          testNode,
		StateDir:        state,
		RegistrationDir: regDir,
		Logger:          slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	conn := dial(t, socket)
	return &testDriver{
		srv: srv, socket: socket, state: state,
		id: csi.NewIdentityClient(conn), ctrl: csi.NewControllerClient(conn), node: csi.NewNodeClient(conn),
	}
}

func dial(t *testing.T, socket string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", socket, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func mountCap() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

func blockCap() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

func createVolume(t *testing.T, d *testDriver, name string) string {
	t.Helper()
	resp, err := d.ctrl.CreateVolume(t.Context(), &csi.CreateVolumeRequest{Name: name, VolumeCapabilities: []*csi.VolumeCapability{mountCap()}})
	if err != nil {
		t.Fatalf("CreateVolume %s: %v", name, err)
	}
	return resp.GetVolume().GetVolumeId()
}

func createSnapshot(t *testing.T, d *testDriver, name, volumeID string, params map[string]string) *csi.Snapshot {
	t.Helper()
	resp, err := d.ctrl.CreateSnapshot(t.Context(), &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeID, Parameters: params})
	if err != nil {
		t.Fatalf("CreateSnapshot %s: %v", name, err)
	}
	return resp.GetSnapshot()
}

// wantCode fails unless err is a status error with the code and a message containing msg.
func wantCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	s, _ := status.FromError(err)
	if s.Code() != code || !strings.Contains(s.Message(), msg) {
		t.Errorf("got error %v, want code %v with a message containing %q", err, code, msg)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantMissing(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: got %v, want it to be missing", path, err)
	}
}

func readerCap(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	c := mountCap()
	c.AccessMode.Mode = mode
	return c
}
