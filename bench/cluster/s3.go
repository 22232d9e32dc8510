package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/localcluster"
)

// startS3 runs versitygw in dir with the bucket both tools write to: a new one, or with prior, the
// one that server left in dir.
func startS3(ctx context.Context, bins localcluster.Binaries, dir string, prior *harness.S3) (harness.S3, error) {
	version, err := bins.Version("VERSITYGW_VERSION")
	if err != nil {
		return harness.S3{}, err
	}
	bin := filepath.Join(bins.Cache, "tools", "versitygw-"+version, "versitygw")
	if _, err := os.Stat(bin); err != nil {
		return harness.S3{}, fmt.Errorf("versitygw not found at %s: run make test-servers", bin)
	}
	if prior != nil {
		return harness.ReopenVersityGW(ctx, bin, filepath.Join(dir, "s3"), *prior)
	}
	return harness.StartVersityGW(ctx, bin, filepath.Join(dir, "s3"), "bench")
}
