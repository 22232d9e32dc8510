package csidriver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// DefaultDriverName is the CSI driver name used unless Config.DriverName says otherwise.
const DefaultDriverName = "hostpath.csi.cairn.dev"

// Config configures a driver.
type Config struct {
	// Endpoint is the CSI socket, "unix://<path>" or a plain path. Required.
	Endpoint string
	// DriverName defaults to DefaultDriverName.
	DriverName string
	// NodeID is returned by NodeGetInfo; it must equal the kubelet's node name. Required.
	NodeID string
	// StateDir holds volumes and snapshots; see the package documentation. Required.
	StateDir string
	// RegistrationDir, if set, is the kubelet's plugin registration directory
	// (<kubelet root>/plugins_registry): the driver then serves the registration API there.
	RegistrationDir string
	// Logger receives the driver's logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running driver.
type Server struct {
	log     *slog.Logger
	servers []*grpc.Server
	sockets []string
	errc    chan error
	once    sync.Once
}

// Run serves until ctx is done or serving fails, then stops like Stop.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Stop()
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.errc:
		return err
	}
}

// Start serves the CSI Identity, Controller and Node services on the endpoint and, if
// RegistrationDir is set, the kubelet registration API next to it. It replaces stale socket
// files and creates missing parent directories. Call Stop to shut down.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DriverName == "" {
		cfg.DriverName = DefaultDriverName
	}
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("csidriver: Endpoint is required")
	case cfg.NodeID == "":
		return nil, errors.New("csidriver: NodeID is required")
	case cfg.StateDir == "":
		return nil, errors.New("csidriver: StateDir is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	csiSocket := strings.TrimPrefix(cfg.Endpoint, "unix://")
	st, err := newStore(cfg.StateDir)
	if err != nil {
		return nil, err
	}

	s := &Server{log: log, errc: make(chan error, 2)}
	d := &driver{name: cfg.DriverName, nodeID: cfg.NodeID, store: st, log: log}
	csiServer := grpc.NewServer(grpc.UnaryInterceptor(logCalls(log)))
	csi.RegisterIdentityServer(csiServer, d)
	csi.RegisterControllerServer(csiServer, d)
	csi.RegisterNodeServer(csiServer, d)
	if err := s.serve(ctx, csiServer, csiSocket); err != nil {
		return nil, err
	}
	if cfg.RegistrationDir != "" { // only once the CSI socket answers, as the kubelet calls it next
		regServer := grpc.NewServer(grpc.UnaryInterceptor(logCalls(log)))
		registerapi.RegisterRegistrationServer(regServer, &registrationServer{driverName: cfg.DriverName, csiSocket: csiSocket, log: log})
		if err := s.serve(ctx, regServer, RegistrationSocketPath(cfg.RegistrationDir, cfg.DriverName)); err != nil {
			s.Stop()
			return nil, err
		}
	}
	log.Info("csi driver serving", "driver", cfg.DriverName, "node", cfg.NodeID, "sockets", s.sockets, "stateDir", cfg.StateDir)
	return s, nil
}

func (s *Server) serve(ctx context.Context, g *grpc.Server, socket string) error {
	if err := os.MkdirAll(filepath.Dir(socket), 0o750); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.servers = append(s.servers, g)
	s.sockets = append(s.sockets, socket)
	go func() {
		if err := g.Serve(l); err != nil {
			s.errc <- fmt.Errorf("serve %s: %w", socket, err)
		}
	}()
	return nil
}

// Stop stops serving gracefully, registration socket first so the kubelet deregisters the
// plugin, waits for calls in progress, and removes the sockets. It may be called more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		for i := len(s.servers) - 1; i >= 0; i-- {
			s.servers[i].GracefulStop()
			if err := os.Remove(s.sockets[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Error("remove socket", "error", err)
			}
		}
		s.log.Info("csi driver stopped")
	})
}

// logCalls logs every call at debug level, or at error level when it fails unexpectedly.
func logCalls(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		level, attrs := slog.LevelDebug, []any{"method", info.FullMethod, "request", req, "duration", time.Since(start)}
		if err != nil {
			attrs = append(attrs, "error", err)
			if c := status.Code(err); c == codes.Internal || c == codes.Unknown {
				level = slog.LevelError
			}
		}
		log.Log(ctx, level, "grpc call", attrs...)
		return resp, err
	}
}
