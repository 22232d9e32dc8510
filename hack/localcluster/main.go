// Command localcluster starts and stops cairn's local Kubernetes clusters for people and scripts:
//
//	go run ./hack/localcluster up [-name dev] [-node=true] [-csi=true] [-controllers=true] [-recreate]
//	go run ./hack/localcluster down [-name dev | -all]
//	go run ./hack/localcluster status
//
// make cluster-up and make cluster-down call it. Tests use internal/localcluster directly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: localcluster up|down|status [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "dev", "cluster name (its state lives in <cache>/clusters/<name>)")
	node := fs.Bool("node", true, "up: add a real node (containerd, kubelet) so Pods run")
	controllers := fs.Bool("controllers", true, "up: run kube-controller-manager and kube-scheduler")
	csi := fs.Bool("csi", true, "up: add the CSI stack with volume snapshots to the node (needs `make csi-sidecars`)")
	recreate := fs.Bool("recreate", false, "up: replace a running cluster of that name with a fresh one")
	all := fs.Bool("all", false, "down: stop every local cluster")
	verbose := fs.Bool("v", false, "log each step")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	opts := localcluster.Options{Name: *name, Node: *node, Controllers: *controllers, CSI: *csi && *node,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return err
	}
	opts.Binaries = bins
	switch args[0] {
	case "up":
		return up(ctx, opts, *recreate, stdout)
	case "down":
		return down(ctx, opts, *all, stdout)
	case "status":
		return status(opts, stdout)
	default:
		return fmt.Errorf("unknown command %q: use up, down or status", args[0])
	}
}

func up(ctx context.Context, opts localcluster.Options, recreate bool, out io.Writer) error {
	c, err := localcluster.Open(opts)
	if err != nil {
		return err
	}
	if c.Running() && opts.CSI && !c.State.CSI && !recreate {
		fmt.Fprintf(out, "cluster %q is running without the CSI stack: starting it afresh with it\n", opts.Name)
		recreate = true
	}
	if c.Running() && !recreate {
		fmt.Fprintf(out, "cluster %q is already running (use -recreate for a fresh one)\n", opts.Name)
	} else {
		if c, err = localcluster.Start(ctx, opts); err != nil {
			return err
		}
		fmt.Fprintf(out, "cluster %q is up: %s\n", opts.Name, c.State.Server)
	}
	fmt.Fprintf(out, "export KUBECONFIG=%s\n", c.State.Kubeconfig)
	return nil
}

func down(ctx context.Context, opts localcluster.Options, all bool, out io.Writer) error {
	names := []string{opts.Name}
	if all {
		var err error
		if names, err = clusterNames(opts.Binaries); err != nil {
			return err
		}
	}
	var errs []error
	for _, n := range names {
		o := opts
		o.Name = n
		c, err := localcluster.Open(o)
		if err == nil {
			err = c.Stop(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("stop cluster %q: %w", n, err))
			continue
		}
		fmt.Fprintf(out, "cluster %q is down\n", n)
	}
	return errors.Join(errs...)
}

func status(opts localcluster.Options, out io.Writer) error {
	names, err := clusterNames(opts.Binaries)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Fprintln(out, "no local clusters")
	}
	for _, n := range names {
		o := opts
		o.Name = n
		c, err := localcluster.Open(o)
		if err != nil {
			return err
		}
		state := "stopped (run down to clean up)"
		if c.Running() {
			state = "running"
		}
		fmt.Fprintf(out, "%-16s %-8s %s  KUBECONFIG=%s  node=%s\n", n, state, c.State.Server, c.State.Kubeconfig, c.State.Node)
	}
	return nil
}

func clusterNames(b localcluster.Binaries) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(b.State, "clusters"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
