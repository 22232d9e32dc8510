// Command cairn-csi-driver runs the test CSI driver of package csidriver: volumes are directories
// under --state-dir, snapshots are copies of them. SIGTERM or SIGINT stops it gracefully.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairnbackup/cairn/test/csidriver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cairn-csi-driver:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg csidriver.Config
	flag.StringVar(&cfg.Endpoint, "endpoint", "", "CSI endpoint, unix://<socket path> (required)")
	flag.StringVar(&cfg.DriverName, "driver-name", csidriver.DefaultDriverName, "CSI driver name")
	flag.StringVar(&cfg.NodeID, "node-id", "", "node ID returned by NodeGetInfo, the kubelet's node name (required)")
	flag.StringVar(&cfg.StateDir, "state-dir", "", "directory holding volumes and snapshots; may be shared by several drivers (required)")
	flag.StringVar(&cfg.RegistrationDir, "registration-dir", "", "kubelet plugin registration directory (<kubelet root>/plugins_registry); if set, register with the kubelet")
	logLevel := flag.String("log-level", "info", "log level: info or debug")
	flag.Parse()

	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}
	for _, f := range []struct{ name, value string }{{"endpoint", cfg.Endpoint}, {"node-id", cfg.NodeID}, {"state-dir", cfg.StateDir}} {
		if f.value == "" {
			return fmt.Errorf("--%s is required", f.name)
		}
	}
	var level slog.Level
	switch *logLevel {
	case "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	default:
		return fmt.Errorf("--log-level must be info or debug, not %q", *logLevel)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return csidriver.Run(ctx, cfg)
}
