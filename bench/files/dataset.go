package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/bench/internal/harness"
)

// dataset is the generated source: base, its mutation mut, and the one path every backup names,
// src, which is base or mut renamed while a backup runs.
type dataset struct {
	base, mut, src string
	inSrc          string // "base" or "mut" while it is at src, else ""
	generator      string // the generator's directory and source hash
	baseTree       treeStats
	mutTree        treeStats
	baseNote       string // what the generator said it made
	mutNote        string
}

type treeStats struct {
	files int
	bytes int64
}

// The file that says the tree beside it is complete; it holds the generator's hash and what
// the generator printed.
const doneSuffix = ".done"

// prepareDataset builds the generator at datagenDir into cache (once per version of its source)
// and makes base and mut under dir/data, or reuses them when they are complete and made by the
// same generator.
func prepareDataset(ctx context.Context, datagenDir, cache, dir string) (*dataset, error) {
	gen, hash, err := buildDatagen(ctx, datagenDir, cache)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	d := &dataset{
		base: filepath.Join(data, "base"), mut: filepath.Join(data, "mut"), src: filepath.Join(dir, "src"),
		generator: fmt.Sprintf("%s (source %s)", datagenDir, hash),
	}
	if err := d.recoverNames(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	// base, and mut made from it: linking base into mut changes the ctimes of base's files, so
	// both are made here, before any backup, and mut is made again whenever base is.
	var made bool
	if d.baseNote, made, err = makeTree(ctx, d.base, hash, func(tmp string) (string, error) {
		return runDatagen(ctx, gen, tmp, "base")
	}); err != nil {
		return nil, err
	}
	if made {
		if err := removeTree(d.mut); err != nil {
			return nil, err
		}
	}
	if d.mutNote, _, err = makeTree(ctx, d.mut, hash, func(tmp string) (string, error) {
		if out, err := exec.CommandContext(ctx, "cp", "-al", d.base, tmp).CombinedOutput(); err != nil {
			return "", fmt.Errorf("cp -al %s %s: %w\n%s", d.base, tmp, err, out)
		}
		return runDatagen(ctx, gen, tmp, "mutate")
	}); err != nil {
		return nil, err
	}
	if d.baseTree, err = statTree(d.base); err != nil {
		return nil, err
	}
	if d.mutTree, err = statTree(d.mut); err != nil {
		return nil, err
	}
	return d, nil
}

// buildDatagen builds the generator into cache/tools/datagen-HASH, HASH naming its source.
func buildDatagen(ctx context.Context, srcDir, cache string) (bin, hash string, err error) {
	h := sha256.New()
	for _, name := range []string{"go.mod", "main.go"} {
		data, err := os.ReadFile(filepath.Join(srcDir, name))
		if err != nil {
			return "", "", fmt.Errorf("-datagen %s: the dataset generator (main.go and go.mod) is not there: %w; "+
				"pass -datagen DIR naming its directory", srcDir, err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	hash = hex.EncodeToString(h.Sum(nil))[:12]
	bin = filepath.Join(cache, "tools", "datagen-"+hash, "datagen")
	if _, err := os.Stat(bin); err == nil {
		return bin, hash, nil
	}
	fmt.Fprintf(os.Stderr, "building the dataset generator %s into %s\n", srcDir, bin)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", "", err
	}
	// -C builds in the generator's directory without writing there: the binary goes to the cache.
	cmd := exec.CommandContext(ctx, "go", "build", "-C", srcDir, "-o", bin+".tmp", ".")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build the dataset generator in %s (-datagen): %w\n%s", srcDir, err, out)
	}
	return bin, hash, os.Rename(bin+".tmp", bin)
}

// makeTree returns what made the tree at path said, making it first with build(path.tmp) unless
// its .done file names the generator hash; made says whether it was made now.
func makeTree(ctx context.Context, path, hash string, build func(tmp string) (string, error)) (note string, made bool, err error) {
	done := path + doneSuffix
	if b, err := os.ReadFile(done); err == nil {
		if h, note, _ := strings.Cut(string(b), "\n"); h == hash {
			if _, err := os.Stat(path); err == nil {
				return strings.TrimSpace(note), false, nil
			}
		}
	}
	tmp := path + ".tmp"
	for _, p := range []string{done, path, tmp} {
		if err := removeTree(p); err != nil {
			return "", false, err
		}
	}
	fmt.Fprintf(os.Stderr, "generating %s\n", path)
	began := time.Now()
	note, err = build(tmp)
	if err != nil {
		return "", false, err
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", false, err
	}
	fmt.Fprintf(os.Stderr, "generated %s in %s: %s\n", path, time.Since(began).Round(time.Second), note)
	return note, true, os.WriteFile(done, []byte(hash+"\n"+note+"\n"), 0o644)
}

func runDatagen(ctx context.Context, gen, out, mode string) (string, error) {
	cmd := exec.CommandContext(ctx, gen, "-out", out, "-mode", mode)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("datagen -out %s -mode %s: %w", out, mode, err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

func removeTree(path string) error {
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// recoverNames puts back base or mut if an interrupted run left it at src. mut is told from base
// by a file only the mutation adds.
func (d *dataset) recoverNames() error {
	if _, err := os.Lstat(d.src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	d.inSrc = "base"
	if _, err := os.Stat(filepath.Join(d.src, "medium", "new000.dat")); err == nil {
		d.inSrc = "mut"
	}
	fmt.Fprintf(os.Stderr, "an earlier run left %s at %s: putting it back\n", d.inSrc, d.src)
	return d.putBack()
}

// use renames base or mut to src.
func (d *dataset) use(tree string) error {
	if d.inSrc != "" {
		return fmt.Errorf("%s is still at %s", d.inSrc, d.src)
	}
	if err := os.Rename(d.path(tree), d.src); err != nil {
		return err
	}
	d.inSrc = tree
	return nil
}

// putBack renames src back to the tree it is, if any.
func (d *dataset) putBack() error {
	if d.inSrc == "" {
		return nil
	}
	to := d.path(d.inSrc)
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("cannot rename %s back to %s: that exists too; remove one of them", d.src, to)
	}
	if err := os.Rename(d.src, to); err != nil {
		return err
	}
	d.inSrc = ""
	return nil
}

func (d *dataset) path(tree string) string {
	if tree == "mut" {
		return d.mut
	}
	return d.base
}

// files lists the regular files under root by path relative to root, with their sizes; anything
// else but directories is an error.
func files(root string) (map[string]int64, error) {
	m := map[string]int64{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%s)", rel, d.Type())
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m[rel] = info.Size()
		return nil
	})
	return m, err
}

func statTree(root string) (treeStats, error) {
	m, err := files(root)
	var s treeStats
	for _, n := range m {
		s.files++
		s.bytes += n
	}
	return s, err
}

// warm reads every file under root once, so that a backup finds the tree in the page cache.
func warm(ctx context.Context, root string) error {
	m, err := files(root)
	if err != nil {
		return err
	}
	began := time.Now()
	var total atomic.Int64
	err = forEach(ctx, slices.Collect(maps.Keys(m)), 4, func(rel string) error {
		f, err := os.Open(filepath.Join(root, rel))
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(io.Discard, f)
		total.Add(n)
		return err
	})
	if err != nil {
		return err
	}
	took := time.Since(began)
	fmt.Fprintf(os.Stderr, "  warmed %s: %s in %.1f s (%.0f MB/s)\n", root, mb(total.Load()), took.Seconds(), float64(total.Load())/1e6/took.Seconds())
	return nil
}

// Which files of a restore are compared byte for byte (by SHA-256); all are compared by path and size.
const (
	sampleFiles = 2000
	alwaysAbove = 1 << 20
)

// compareTrees checks that got holds the regular files of want: the same relative paths and
// sizes, the same count and total, and the same content for a sample of sampleFiles files
// spread over the sorted paths plus every file over alwaysAbove bytes.
func compareTrees(ctx context.Context, want, got string) error {
	w, err := files(want)
	if err != nil {
		return err
	}
	g, err := files(got)
	if err != nil {
		return err
	}
	sum := func(m map[string]int64) (n int64) {
		for _, s := range m {
			n += s
		}
		return n
	}
	var diffs []string
	if len(w) != len(g) || sum(w) != sum(g) {
		diffs = append(diffs, fmt.Sprintf("%d files of %d bytes, want %d files of %d bytes", len(g), sum(g), len(w), sum(w)))
	}
	paths := slices.Sorted(maps.Keys(w))
	for _, p := range paths {
		if gs, ok := g[p]; !ok {
			diffs = append(diffs, p+" is missing")
		} else if gs != w[p] {
			diffs = append(diffs, fmt.Sprintf("%s has %d bytes, want %d", p, gs, w[p]))
		}
	}
	for p := range g {
		if _, ok := w[p]; !ok {
			diffs = append(diffs, p+" is extra")
		}
	}
	if len(diffs) > 0 {
		return errors.New(firstOf(diffs))
	}
	stride := max(1, len(paths)/sampleFiles)
	var sample []string
	for i, p := range paths {
		if i%stride == 0 || w[p] > alwaysAbove {
			sample = append(sample, p)
		}
	}
	var mu sync.Mutex
	err = forEach(ctx, sample, 2, func(p string) error {
		a, err := hashFile(filepath.Join(want, p))
		if err != nil {
			return err
		}
		b, err := hashFile(filepath.Join(got, p))
		if err != nil {
			return err
		}
		if a != b {
			mu.Lock()
			diffs = append(diffs, p+" has other content")
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return errors.New(firstOf(diffs))
	}
	return nil
}

func firstOf(diffs []string) string {
	if len(diffs) == 1 {
		return diffs[0]
	}
	return fmt.Sprintf("%s (and %d more differences)", diffs[0], len(diffs)-1)
}

func hashFile(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// forEach calls fn for every item from the given number of workers; the first error stops the
// rest and is returned.
func forEach(ctx context.Context, items []string, workers int, fn func(string) error) error {
	return harness.Parallel(ctx, len(items), workers, func(_ context.Context, i int) error { return fn(items[i]) })
}
