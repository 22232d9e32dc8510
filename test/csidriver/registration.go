package csidriver

import (
	"context"
	"log/slog"
	"path/filepath"

	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// RegistrationSocketPath returns the socket on which the driver serves the kubelet plugin
// registration API, in the kubelet's plugin registration directory.
func RegistrationSocketPath(registrationDir, driverName string) string {
	return filepath.Join(registrationDir, driverName+"-reg.sock")
}

// registrationServer does node-driver-registrar's job: it tells the kubelet's plugin watcher
// where the CSI endpoint is.
type registrationServer struct {
	registerapi.UnimplementedRegistrationServer

	driverName string
	csiSocket  string // a filesystem path, without unix://
	log        *slog.Logger
}

func (r *registrationServer) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.driverName,
		Endpoint:          r.csiSocket,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registrationServer) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if s.GetPluginRegistered() {
		r.log.Info("registered with the kubelet")
	} else {
		r.log.Error("kubelet refused the registration", "error", s.GetError())
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}
