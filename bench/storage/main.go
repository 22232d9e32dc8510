// Command storage measures the upload and download throughput of cairn's storage backends
// (blob.Storage) on this machine, beside a raw file copy as the reference, and prints a Markdown
// table.
//
//	go run ./bench/storage [-size 1GiB] [-small 64KiB] [-large 256MiB] [-workers 8]
//	    [-large-workers 1] [-backends raw,file,s3,azblob] [-dir /tmp] [-seed 1]
//
// Every backend stores -size bytes in each of two shapes, then reads them back:
//
//   - large: objects of -large bytes (1 GiB = 4 × 256 MiB), -large-workers at a time (default
//     one: a single stream);
//   - small: objects of -small bytes (1 GiB = 16384 × 64 KiB), by -workers concurrent workers.
//
// The backends, in the order -backends names them:
//
//   - raw: the reference, plain files: os.Create, io.Copy, fsync and close to write, os.Open and
//     io.Copy to read, with the same shapes and concurrency;
//   - file: the filesystem backend (file://) in a temporary directory;
//   - s3: the S3 backend (s3://) against versitygw on a free loopback port;
//   - azblob: the Azure Blob backend (azblob://) against Azurite on a free loopback port.
//
// versitygw and Azurite are started the way internal/testenv starts them for the integration
// tests, from $CAIRN_CACHE (install them with `make test-servers`), and stopped when their
// backend is done, on error and on interrupt too. All data goes to a temporary directory under
// -dir, removed at the end; every server listens on 127.0.0.1 only.
//
// The content is incompressible: each object is streamed from a ChaCha8 generator seeded with
// -seed, the shape and the object's number, so no more than a read buffer of it is ever in
// memory. A CRC-32C of every object is taken while it is uploaded, and every download is checked
// against it and against the object's size. Throughput is the bytes of a shape over the wall
// time of all its uploads (or downloads). The downloads follow the uploads directly, so the
// servers' files are mostly still in the page cache: download figures measure the backend's
// overhead more than the disk. The "vs raw" columns divide by the raw reference of the same
// shape in the same run.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/azure"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/blob/s3"
	"github.com/cairnbackup/cairn/internal/localcluster"
)

func main() {
	opts := options{size: 1 << 30, small: 64 << 10, large: 256 << 20}
	flag.Var(&opts.size, "size", "bytes stored per backend and shape (e.g. 1GiB, 256MiB)")
	flag.Var(&opts.small, "small", "object size of the small shape")
	flag.Var(&opts.large, "large", "object size of the large shape")
	flag.IntVar(&opts.workers, "workers", 8, "concurrent uploads and downloads for the small shape")
	flag.IntVar(&opts.largeWorkers, "large-workers", 1, "concurrent uploads and downloads for the large shape")
	backends := flag.String("backends", "raw,file,s3,azblob", "backends to measure, in this order: raw, file, s3, azblob")
	flag.StringVar(&opts.dir, "dir", os.TempDir(), "directory to put the temporary data in")
	flag.Uint64Var(&opts.seed, "seed", 1, "seed of the generated content")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench/storage [flags]\n\nMeasures upload and download throughput of the storage backends; prints a Markdown table.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	opts.backends = strings.Split(*backends, ",")

	harness.Main("bench/storage", func(ctx context.Context) error { return run(ctx, opts, os.Stdout) })
}

type options struct {
	size, small, large    byteSize
	workers, largeWorkers int
	backends              []string
	dir                   string
	seed                  uint64
}

// shape is one way of storing the bytes: count objects of objSize (the last one may be shorter).
type shape struct {
	name    string // also the key prefix
	objSize int64
	total   int64
	workers int
}

func (s shape) count() int { return int((s.total + s.objSize - 1) / s.objSize) }

func (s shape) size(i int) int64 { return min(s.objSize, s.total-int64(i)*s.objSize) }

func (s shape) key(i int) string { return fmt.Sprintf("%s/%06d", s.name, i) }

func (s shape) String() string {
	n := s.count()
	if last := s.size(n - 1); last != s.objSize {
		return fmt.Sprintf("%d × %s + %s", n-1, byteSize(s.objSize), byteSize(last))
	}
	return fmt.Sprintf("%d × %s", n, byteSize(s.objSize))
}

// result is the measurement of one backend and shape.
type result struct {
	backend, label string
	shape          shape
	up, down       time.Duration
}

func (r result) mibps(d time.Duration) float64 {
	return float64(r.shape.total) / (1 << 20) / d.Seconds()
}

func (r result) objps(d time.Duration) float64 { return float64(r.shape.count()) / d.Seconds() }

func run(ctx context.Context, o options, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return fmt.Errorf("find the cairn checkout: %w", err)
	}
	// Check every backend's prerequisites before measuring anything.
	var setups []backendSetup
	for _, name := range o.backends {
		s, err := prepare(name, bins)
		if err != nil {
			return err
		}
		setups = append(setups, s)
	}
	base, err := os.MkdirTemp(o.dir, "cairn-bench-storage-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(base)

	shapes := []shape{
		{name: "large", objSize: int64(o.large), total: int64(o.size), workers: o.largeWorkers},
		{name: "small", objSize: int64(o.small), total: int64(o.size), workers: o.workers},
	}
	began := time.Now()
	source := measureSource(o.seed, min(int64(o.size), 256<<20))
	var results []result
	for i, s := range setups {
		dir := filepath.Join(base, fmt.Sprintf("%d-%s", i, s.name))
		rs, err := measureBackend(ctx, s, dir, shapes, o.seed)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		results = append(results, rs...)
	}
	total := time.Since(began)
	printReport(out, o, results, source, total)
	return nil
}

func (o options) validate() error {
	if o.size <= 0 || o.small <= 0 || o.large <= 0 {
		return errors.New("-size, -small and -large must be positive")
	}
	if o.small > o.size || o.large > o.size {
		return fmt.Errorf("-small (%s) and -large (%s) must not exceed -size (%s)", o.small, o.large, o.size)
	}
	if o.workers < 1 || o.largeWorkers < 1 {
		return errors.New("-workers and -large-workers must be at least 1")
	}
	if len(o.backends) == 0 {
		return errors.New("-backends names no backend")
	}
	return harness.CheckList("backends", "backend", o.backends, backendNames)
}

// measureBackend starts the backend in dir, runs every shape through it, and stops it again.
func measureBackend(ctx context.Context, s backendSetup, dir string, shapes []shape, seed uint64) (_ []result, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove %s: %w", dir, rerr)
		}
	}()
	fmt.Fprintf(os.Stderr, "%s: starting\n", s.label)
	t, stop, err := s.start(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	var results []result
	for _, sh := range shapes {
		r := result{backend: s.name, label: s.label, shape: sh}
		crcs := make([]uint32, sh.count())
		if err := t.prepare(sh.name); err != nil {
			return nil, err
		}
		began := time.Now()
		err := harness.Parallel(ctx, sh.count(), sh.workers, func(ctx context.Context, i int) error {
			g := newGenerator(seed, sh.name, i, sh.size(i))
			if err := t.put(ctx, sh.key(i), g); err != nil {
				return fmt.Errorf("upload %s: %w", sh.key(i), err)
			}
			if g.left != 0 {
				return fmt.Errorf("upload %s: the backend read %d of %d bytes and reported success", sh.key(i), sh.size(i)-g.left, sh.size(i))
			}
			crcs[i] = g.crc
			return nil
		})
		if err != nil {
			return nil, err
		}
		r.up = time.Since(began)

		began = time.Now()
		err = harness.Parallel(ctx, sh.count(), sh.workers, func(ctx context.Context, i int) error {
			h := crc32.New(castagnoli)
			n, err := t.get(ctx, sh.key(i), h)
			if err != nil {
				return fmt.Errorf("download %s: %w", sh.key(i), err)
			}
			if n != sh.size(i) {
				return fmt.Errorf("download %s: got %d bytes, uploaded %d", sh.key(i), n, sh.size(i))
			}
			if h.Sum32() != crcs[i] {
				return fmt.Errorf("download %s: CRC-32C %08x, uploaded %08x: the content differs", sh.key(i), h.Sum32(), crcs[i])
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		r.down = time.Since(began)
		fmt.Fprintf(os.Stderr, "%s: %s: upload %.1f MiB/s, download %.1f MiB/s (verified)\n",
			s.label, sh, r.mibps(r.up), r.mibps(r.down))
		results = append(results, r)
	}
	return results, nil
}

// ---- content

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// generator streams size pseudo-random bytes and keeps their CRC-32C.
type generator struct {
	rng  *mrand.ChaCha8
	left int64
	crc  uint32
}

func newGenerator(seed uint64, shapeName string, i int, size int64) *generator {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[0:], seed)
	copy(s[8:24], shapeName)
	binary.LittleEndian.PutUint64(s[24:], uint64(i))
	return &generator{rng: mrand.NewChaCha8(s), left: size}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	_, _ = g.rng.Read(p) // never fails
	g.crc = crc32.Update(g.crc, castagnoli, p)
	g.left -= int64(len(p))
	return len(p), nil
}

// measureSource returns how fast one generator produces (and checksums) n bytes: the ceiling of
// a single upload stream.
func measureSource(seed uint64, n int64) float64 {
	g := newGenerator(seed, "source", 0, n)
	buf := make([]byte, 32<<10)
	began := time.Now()
	for {
		if _, err := g.Read(buf); err != nil {
			break
		}
	}
	return float64(n) / (1 << 20) / time.Since(began).Seconds()
}

// ---- backends

var backendNames = []string{"raw", "file", "s3", "azblob"}

// target is what a shape is written to and read from.
type target interface {
	prepare(prefix string) error // before the uploads of a shape, not timed
	put(ctx context.Context, key string, r io.Reader) error
	get(ctx context.Context, key string, w io.Writer) (int64, error)
}

type backendSetup struct {
	name, label string
	// start brings the backend up with its data in dir; stop undoes it.
	start func(ctx context.Context, dir string) (t target, stop func() error, err error)
}

func noStop() error { return nil }

// prepare checks what backend name needs and returns how to start it.
func prepare(name string, bins localcluster.Binaries) (backendSetup, error) {
	switch name {
	case "raw":
		return backendSetup{name: name, label: "raw file copy", start: func(_ context.Context, dir string) (target, func() error, error) {
			return rawTarget{dir: dir}, noStop, nil
		}}, nil
	case "file":
		return backendSetup{name: name, label: "file://", start: func(_ context.Context, dir string) (target, func() error, error) {
			st, err := filesystem.New(dir)
			if err != nil {
				return nil, nil, err
			}
			return blobTarget{st}, noStop, nil
		}}, nil
	case "s3":
		version, err := bins.Version("VERSITYGW_VERSION")
		if err != nil {
			return backendSetup{}, err
		}
		bin := filepath.Join(bins.Cache, "tools", "versitygw-"+version, "versitygw")
		if _, err := os.Stat(bin); err != nil {
			return backendSetup{}, fmt.Errorf("s3: versitygw not found at %s: run make test-servers (hack/install-versitygw.sh)", bin)
		}
		return backendSetup{name: name, label: "s3:// (versitygw " + version + ")", start: func(ctx context.Context, dir string) (target, func() error, error) {
			return startS3(ctx, bin, dir)
		}}, nil
	case "azblob":
		version, err := bins.Version("AZURITE_VERSION")
		if err != nil {
			return backendSetup{}, err
		}
		bin := filepath.Join(bins.Cache, "npm", "azurite-"+version, "node_modules", ".bin", "azurite-blob")
		if _, err := os.Stat(bin); err != nil {
			return backendSetup{}, fmt.Errorf("azblob: Azurite not found at %s: run make test-servers (hack/install-azurite.sh)", bin)
		}
		if _, err := exec.LookPath("node"); err != nil {
			return backendSetup{}, errors.New("azblob: Azurite needs node on PATH (Debian: apt-get install -y nodejs), then make test-servers")
		}
		return backendSetup{name: name, label: "azblob:// (Azurite " + version + ")", start: func(ctx context.Context, dir string) (target, func() error, error) {
			return startAzure(ctx, bin, dir)
		}}, nil
	}
	return backendSetup{}, fmt.Errorf("unknown backend %q", name)
}

// blobTarget measures a blob.Storage.
type blobTarget struct{ st blob.Storage }

func (blobTarget) prepare(string) error { return nil }

func (b blobTarget) put(ctx context.Context, key string, r io.Reader) error {
	return b.st.Put(ctx, key, r, blob.PutOptions{})
}

func (b blobTarget) get(ctx context.Context, key string, w io.Writer) (int64, error) {
	rc, err := b.st.Get(ctx, key, 0, -1)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// rawTarget is the reference: plain files, written and read with the standard library alone.
type rawTarget struct{ dir string }

func (r rawTarget) prepare(prefix string) error {
	return os.MkdirAll(filepath.Join(r.dir, prefix), 0o700)
}

func (r rawTarget) put(_ context.Context, key string, src io.Reader) error {
	f, err := os.Create(filepath.Join(r.dir, filepath.FromSlash(key)))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r rawTarget) get(_ context.Context, key string, w io.Writer) (int64, error) {
	f, err := os.Open(filepath.Join(r.dir, filepath.FromSlash(key)))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(w, f)
}

// ---- servers

const (
	bucket         = "cairn-bench"
	azuriteAccount = "devstoreaccount1"
	// The key every Azurite serves devstoreaccount1 with; published, not a secret.
	azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startS3 runs versitygw over dir, creates the bucket and opens the S3 backend on it.
func startS3(ctx context.Context, bin, dir string) (_ target, _ func() error, err error) {
	srv, err := harness.StartVersityGW(ctx, bin, dir, bucket)
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := s3.New(cctx, s3.Config{
		Endpoint: srv.Addr, Region: srv.Region, Bucket: bucket, PathStyle: true,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
	})
	if err != nil {
		_ = srv.Stop()
		return nil, nil, err
	}
	return blobTarget{st}, srv.Stop, nil
}

// startAzure runs Azurite over dir as internal/testenv does, creates the container and opens
// the Azure backend on it.
func startAzure(ctx context.Context, bin, dir string) (_ target, _ func() error, err error) {
	srv, addr, err := harness.StartServer(ctx, "azurite", func(addr string) []string {
		_, port, _ := net.SplitHostPort(addr)
		return []string{bin, "--blobHost", "127.0.0.1", "--blobPort", port,
			"--location", dir, "--skipApiVersionCheck", "--disableTelemetry", "--silent"}
	}, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			_ = srv.Stop()
		}
	}()
	endpoint := "http://" + addr + "/" + azuriteAccount
	cred, err := azblob.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	if err != nil {
		return nil, nil, err
	}
	c, err := container.NewClientWithSharedKeyCredential(endpoint+"/"+bucket, cred, nil)
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.Create(cctx, nil); err != nil {
		return nil, nil, fmt.Errorf("create container %s at %s: %w", bucket, endpoint, err)
	}
	st, err := azure.New(cctx, azure.Config{
		Account: azuriteAccount, Container: bucket, Endpoint: endpoint, AccountKey: azuriteKey,
	})
	if err != nil {
		return nil, nil, err
	}
	return blobTarget{st}, srv.Stop, nil
}

// ---- report

func printReport(w io.Writer, o options, results []result, sourceMiBps float64, total time.Duration) {
	ref := map[string]result{} // shape name → raw result
	for _, r := range results {
		if r.backend == "raw" {
			ref[r.shape.name] = r
		}
	}
	fmt.Fprintf(w, "%s per backend and shape; large objects %d at a time, small objects by %d workers; "+
		"data under %s; %s %s/%s, %d CPUs; one generator stream: %.0f MiB/s\n\n",
		o.size, o.largeWorkers, o.workers, o.dir, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), sourceMiBps)
	fmt.Fprintln(w, "| backend | shape | upload MiB/s | download MiB/s | upload vs raw | download vs raw | upload objects/s | download objects/s |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, r := range results {
		upRatio, downRatio := "–", "–"
		if raw, ok := ref[r.shape.name]; ok {
			upRatio = fmt.Sprintf("%.2f", r.mibps(r.up)/raw.mibps(raw.up))
			downRatio = fmt.Sprintf("%.2f", r.mibps(r.down)/raw.mibps(raw.down))
		}
		upObj, downObj := "–", "–"
		if r.shape.name == "small" {
			upObj, downObj = fmt.Sprintf("%.0f", r.objps(r.up)), fmt.Sprintf("%.0f", r.objps(r.down))
		}
		fmt.Fprintf(w, "| %s | %s %s | %s | %s | %s | %s | %s | %s |\n", r.label, r.shape.name, r.shape,
			rate(r.mibps(r.up)), rate(r.mibps(r.down)), upRatio, downRatio, upObj, downObj)
	}
	fmt.Fprintf(w, "\nTotal wall time: %s\n", total.Round(100*time.Millisecond))
}

func rate(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// ---- sizes

// byteSize is a flag value such as 1GiB, 64KiB, 512MB or 4096.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3},
	{"B", 1},
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	factor := int64(1)
	num := s
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size (use e.g. 1GiB, 256MiB, 64KiB)", s)
	}
	if n > (1<<62)/factor {
		return fmt.Errorf("%q is too large", s)
	}
	*b = byteSize(n * factor)
	return nil
}

func (b byteSize) String() string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) >= u.factor && int64(b)%u.factor == 0 {
			return fmt.Sprintf("%d %s", int64(b)/u.factor, u.suffix)
		}
	}
	return fmt.Sprintf("%d B", int64(b))
}
