// Command agentimage writes the agent image (the static cairn binary at /cairn) as a
// docker-archive tarball, and imports it into a running local cluster's node:
//
//	go run ./hack/agentimage -binary bin/cairn -tag local/cairn-agent:dev -out bin/cairn-agent-image.tar [-import dev]
//
// make agent-image calls it. The tarball also loads with `docker load` or `ctr images import`,
// and pushes to a registry with tools that read that format (skopeo copy docker-archive:...).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agentimage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("agentimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "bin/cairn", "the static cairn binary (CGO_ENABLED=0; make build)")
	tag := fs.String("tag", localcluster.AgentImage, "the image's name and tag")
	out := fs.String("out", "bin/cairn-agent-image.tar", "the docker-archive tarball to write")
	cluster := fs.String("import", "", "import the image into the node of this running local cluster (e.g. dev)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := localcluster.BuildAgentImage(ctx, *binary, *tag, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", *out, *tag)
	if *cluster == "" {
		return nil
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return err
	}
	c, err := localcluster.Open(localcluster.Options{Name: *cluster, Binaries: bins})
	if err != nil {
		return err
	}
	if !c.Running() {
		return fmt.Errorf("local cluster %q is not running: make cluster-up first", *cluster)
	}
	if err := c.ImportImage(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %s into cluster %q: install with --image %s --image-pull-policy Never\n", *tag, *cluster, *tag)
	return nil
}
