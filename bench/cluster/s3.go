package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/localcluster"
)

// startS3 runs versitygw in dir with the bucket both tools write to.
func startS3(ctx context.Context, bins localcluster.Binaries, dir string) (harness.S3, error) {
	version, err := bins.Version("VERSITYGW_VERSION")
	if err != nil {
		return harness.S3{}, err
	}
	bin := filepath.Join(bins.Cache, "tools", "versitygw-"+version, "versitygw")
	if _, err := os.Stat(bin); err != nil {
		return harness.S3{}, fmt.Errorf("versitygw not found at %s: run make test-servers", bin)
	}
	return harness.StartVersityGW(ctx, bin, filepath.Join(dir, "s3"), "bench")
}
