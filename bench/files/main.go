// Command files measures cairn's file store (`cairn files backup|restore`) beside kopia and restic,
// side by side in one run, on the same dataset and the same kind of storage (a local directory,
// file://), and prints Markdown tables: one per metric, a row per phase, a column per tool, then
// the ratios the file store's goals are stated in, each with PASS or MISS.
//
//	go run ./bench/files [-runs 1] [-tools cairn,kopia,kopia-zstd,restic] [-cairn PATH]
//	    [-kopia PATH] [-restic PATH] [-datagen ../shared/bench/datagen] [-dir $CAIRN_STATE/bench-files]
//
// The dataset comes from the seeded generator outside the repository (-datagen, built into
// $CAIRN_CACHE/tools/datagen-HASH): about 2 GiB in 50,103 files, half text and half random, made
// once into -dir/data/base, and its mutation (about 5.6% of the bytes: edits in the large files,
// small files removed, added and extended) into -dir/data/mut as `cp -al base mut` followed by
// `datagen -mode mutate`. Both trees are made before any backup and reused by later runs: linking
// changes the files' ctimes, which every tool's change detection compares.
//
// Each tool gets a fresh repository, configuration and cache per run, and goes through four
// phases, all on the same source path (-dir/src, a rename of base or mut, so that every tool
// finds its previous snapshot of the same path and the files keep their ctimes):
//
//  1. first backup of src = base;
//  2. unchanged re-backup of the same src;
//  3. incremental backup of src = mut;
//  4. full restore of the incremental snapshot into an empty directory, checked afterwards
//     (untimed) against mut: the same paths and sizes, the total file count and bytes, and the
//     SHA-256 of a sample of 2,000 files plus every file over 1 MiB.
//
// Every phase records its wall time, CPU time (user + system) and peak RSS of the tool's process
// (from wait4's rusage), and the repository's size afterwards (the sum of its files' sizes).
// Before each timed backup the whole source tree is read once, so every tool starts with the
// same warm page cache; before each timed phase `sync` writes back what the previous one left.
//
// The tools, each with its passphrase in its environment and its configuration and cache in its
// own work directory:
//
//   - cairn (built from this checkout unless -cairn names a binary): `cairn files backup src
//     --storage file://REPO --source bench -o json` (the first one initialises the repository)
//     and `cairn files restore ID DIR --storage file://REPO`;
//   - kopia v0.23.1 with its defaults (no compression): `repository create filesystem --path
//     REPO` and `maintenance run --full` untimed (kopia runs its first full maintenance after the
//     first writing command; here it runs on the empty repository instead of after the timed
//     first backup), then `snapshot create src --json` and `snapshot restore ID DIR`;
//   - kopia-zstd: the same with `policy set --global --compression=zstd-fastest` after create;
//   - restic v0.19.1 with its defaults (compression auto, zstd): `init` untimed, then `backup src
//     --json --quiet` and `restore ID:src --target DIR` (the contents of src, not its absolute
//     path).
//
// kopia and restic are installed into $CAIRN_CACHE/tools by `make bench-tools`
// (hack/install-bench-tools.sh). restic draws its chunker's polynomial at random for every
// repository, so what its incremental adds varies from run to run by several percent: the goal
// that compares with it wants -runs 3 or more. Everything a run writes stays under -dir: the
// tools' repositories and restores are removed once measured, the dataset is kept. An
// interrupted run puts base and mut back under their names, at the latest when the next run
// starts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/localcluster"
)

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 1, "runs of every tool; with more than one, tables show medians and the spread")
	tools := flag.String("tools", strings.Join(toolNames, ","), "tools to measure, in this order: "+strings.Join(toolNames, ", "))
	flag.StringVar(&o.cairn, "cairn", "", "the cairn binary to measure (default: built from this checkout into -dir)")
	flag.StringVar(&o.kopia, "kopia", "", "the kopia binary (default: $CAIRN_CACHE/tools/kopia-$KOPIA_VERSION/kopia, from make bench-tools)")
	flag.StringVar(&o.restic, "restic", "", "the restic binary (default: $CAIRN_CACHE/tools/restic-$RESTIC_VERSION/restic, from make bench-tools)")
	flag.StringVar(&o.datagen, "datagen", "", "the dataset generator's source directory (main.go, go.mod) (default: ../shared/bench/datagen from the checkout's root)")
	flag.StringVar(&o.dir, "dir", "", "where the dataset, the repositories and the restores go (default: $CAIRN_STATE/bench-files)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench/files [flags]\n\n"+
			"Measures cairn's file store beside kopia and restic (first backup, unchanged re-backup, incremental,\n"+
			"restore, repository sizes, peak RSS) on a generated 2 GiB dataset; prints Markdown tables.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	o.tools = strings.Split(*tools, ",")

	harness.Main("bench/files", func(ctx context.Context) error { return run(ctx, o, os.Stdout) })
}

type options struct {
	runs                 int
	tools                []string
	cairn, kopia, restic string
	datagen, dir         string
}

func (o options) validate() error {
	if o.runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	return harness.CheckList("tools", "tool", o.tools, toolNames)
}

func run(ctx context.Context, o options, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return fmt.Errorf("find the cairn checkout: %w", err)
	}
	if o.dir == "" {
		o.dir = filepath.Join(bins.State, "bench-files")
	}
	if o.datagen == "" {
		o.datagen = filepath.Join(bins.Repo, "..", "shared", "bench", "datagen")
	}
	for _, p := range []*string{&o.dir, &o.datagen} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	// Every tool's binary first, so that a missing one fails before the long dataset step.
	var tools []*tool
	for _, name := range o.tools {
		t, err := newTool(ctx, name, o, bins)
		if err != nil {
			return err
		}
		tools = append(tools, t)
	}
	data, err := prepareDataset(ctx, o.datagen, bins.Cache, o.dir)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := data.putBack(); rerr != nil {
			fmt.Fprintln(os.Stderr, "bench/files:", rerr)
		}
	}()

	began := time.Now()
	results := map[string][]toolRun{}
	for r := range o.runs {
		for _, t := range tools {
			fmt.Fprintf(os.Stderr, "run %d/%d: %s\n", r+1, o.runs, t.name)
			tr, err := measureTool(ctx, t, data, filepath.Join(o.dir, "work", t.name))
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", t.name, r+1, err)
			}
			results[t.name] = append(results[t.name], tr)
		}
	}
	printReport(out, report{
		data: data, tools: tools, runs: o.runs, results: results, total: time.Since(began),
		machine: fmt.Sprintf("%s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
	})
	return nil
}
