package csidriver

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

func TestRegistration(t *testing.T) {
	regDir := filepath.Join(t.TempDir(), "plugins_registry") // created by Start
	regSocket := RegistrationSocketPath(regDir, DefaultDriverName)
	if err := os.MkdirAll(regDir, 0o750); err != nil {
		t.Fatal(err)
	}
	writeFile(t, regSocket, "stale", 0o600) // replaced by Start

	d := startDriver(t, t.TempDir(), regDir)
	client := registerapi.NewRegistrationClient(dial(t, regSocket))
	info, err := client.GetInfo(t.Context(), &registerapi.InfoRequest{})
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	if info.GetType() != registerapi.CSIPlugin || info.GetName() != DefaultDriverName || info.GetEndpoint() != d.socket ||
		!slices.Equal(info.GetSupportedVersions(), []string{"1.0.0"}) {
		t.Errorf("GetInfo = %v; want a CSIPlugin named %s at %s supporting 1.0.0", info, DefaultDriverName, d.socket)
	}
	for _, s := range []*registerapi.RegistrationStatus{{PluginRegistered: true}, {Error: "refused"}} {
		if _, err := client.NotifyRegistrationStatus(t.Context(), s); err != nil {
			t.Errorf("NotifyRegistrationStatus(%v): %v", s, err)
		}
	}

	d.srv.Stop()
	d.srv.Stop()
	wantMissing(t, regSocket)
	wantMissing(t, d.socket)
}

func TestStartValidatesConfig(t *testing.T) {
	for _, cfg := range []Config{
		{NodeID: "n", StateDir: t.TempDir()},
		{Endpoint: filepath.Join(t.TempDir(), "s"), StateDir: t.TempDir()},
		{Endpoint: filepath.Join(t.TempDir(), "s"), NodeID: "n"},
	} {
		if srv, err := Start(t.Context(), cfg); err == nil {
			srv.Stop()
			t.Errorf("Start(%+v) succeeded, want an error", cfg)
		}
	}
}
