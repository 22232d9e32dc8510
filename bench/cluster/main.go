// Command cluster measures cairn on a realistic large cluster: -namespaces namespaces of 300 mixed
// objects each (ConfigMaps and Secrets of mixed sizes, a few near the 1 MiB limit; Deployments
// with their ReplicaSets and Pods; Services, ServiceAccounts, Roles and RoleBindings; custom
// resources of three CRDs), made in a real local kube-apiserver. Beside cairn it measures, in
// the same run, the raw references (a parallel create of the objects, a paginated LIST of them)
// and, with -velero, Velero backing up and restoring the same cluster into the same S3 server.
// Backups go to versitygw; each restore goes into a fresh cluster. It prints a Markdown table.
//
//	go run ./bench/cluster -namespaces 1000 -velero     # make bench-cluster
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/localcluster"
)

type config struct {
	namespaces  int
	cairnBin    string
	parallelism int
	velero      bool
	veleroFlags []string
	restore     bool
	// refBin, when set, is another cairn build whose backup is measured on the same objects.
	refBin string
}

func main() {
	var c config
	var veleroFlags string
	flag.IntVar(&c.namespaces, "namespaces", 1000, fmt.Sprintf("namespaces of %d objects each", objectsPerNamespace))
	flag.StringVar(&c.cairnBin, "cairn", "bin/cairn", "the cairn binary to measure")
	flag.IntVar(&c.parallelism, "parallelism", 16, "concurrent creates, for the raw reference and cairn's restore alike")
	flag.BoolVar(&c.velero, "velero", false, "measure Velero too (make bench-velero installs it)")
	flag.BoolVar(&c.restore, "restore", true, "measure the restores too (false: the backups alone, a quicker run)")
	flag.StringVar(&c.refBin, "reference-cairn", "", "another cairn binary (an earlier build, say) whose backup is measured beside, on the same objects")
	flag.StringVar(&veleroFlags, "velero-server-flags", "--client-qps=1000 --client-burst=1000", "flags for velero server")
	flag.Parse()
	c.veleroFlags = strings.Fields(veleroFlags)
	harness.Main("bench/cluster", func(ctx context.Context) error {
		if c.namespaces < 1 {
			return fmt.Errorf("-namespaces %d: give at least 1", c.namespaces)
		}
		return run(ctx, c, os.Stdout)
	})
}

// figures are one run's measurements.
type figures struct {
	objects, listed             int
	rawCreate, rawList          time.Duration
	backup, restore             harness.Measured
	refBackup                   harness.Measured // of -reference-cairn, if given
	backedUp, restored, skipped int
	storedBytes                 int64
	velero                      bool
	veleroBackup, veleroRestore veleroRun
	veleroDescription           string
}

func run(ctx context.Context, c config, out io.Writer) error {
	bin, err := harness.CairnBinary(c.cairnBin)
	if err != nil {
		return err
	}
	var refBin string
	if c.refBin != "" {
		if refBin, err = harness.CairnBinary(c.refBin); err != nil {
			return err
		}
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "cairn-bench-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	s3, err := startS3(ctx, bins, work)
	if err != nil {
		return err
	}
	defer func() { _ = s3.Stop() }()
	var v *velero
	if c.velero {
		if v, err = newVelero(bins, s3, c.veleroFlags); err != nil {
			return err
		}
	}
	env := []string{"CAIRN_PASSPHRASE=benchmark-passphrase", "AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey}
	storage := fmt.Sprintf("s3://%s/cairn?endpoint=%s&region=%s&pathStyle=true", s3.Bucket, url.QueryEscape(s3.Endpoint()), s3.Region)
	f := figures{velero: c.velero}
	if v != nil {
		f.veleroDescription = v.describe()
	}

	err = withCluster(ctx, bins, "bench-src", func(kubeconfig string, cfg *rest.Config) error {
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			return err
		}
		if err := createCRDs(ctx, dyn); err != nil {
			return err
		}
		progress("creating %d objects in %d namespaces", c.namespaces*objectsPerNamespace, c.namespaces)
		began := time.Now()
		if f.objects, err = createNamespaces(ctx, dyn, c.namespaces, c.parallelism); err != nil {
			return err
		}
		f.rawCreate = time.Since(began)
		f.objects += len(crdKinds)
		progress("raw create: %d objects in %s", f.objects, f.rawCreate.Round(time.Millisecond))
		began = time.Now()
		listed, err := rawList(ctx, cfg)
		if err != nil {
			return err
		}
		f.listed = listed
		f.rawList = time.Since(began)
		progress("raw LIST: %d objects in %s", listed, f.rawList.Round(time.Millisecond))
		if refBin != "" {
			if f.refBackup, err = harness.Measure(ctx, env, refBin, "backup", "create", "bench-reference", "--storage", storage,
				"--kubeconfig", kubeconfig, "-o", "json"); err != nil {
				return err
			}
			progress("reference cairn backup: %s, peak RSS %d MiB", f.refBackup.Wall.Round(time.Millisecond), f.refBackup.PeakRSSKiB>>10)
		}
		if f.backup, err = harness.Measure(ctx, env, bin, "backup", "create", "bench", "--storage", storage,
			"--kubeconfig", kubeconfig, "-o", "json"); err != nil {
			return err
		}
		var rp struct {
			Result struct {
				Items       int   `json:"items"`
				StoredBytes int64 `json:"storedBytes"`
			} `json:"result"`
		}
		if err := json.Unmarshal(f.backup.Stdout, &rp); err != nil {
			return fmt.Errorf("cairn backup's output: %w", err)
		}
		f.backedUp, f.storedBytes = rp.Result.Items, rp.Result.StoredBytes
		progress("cairn backup: %d items in %s, peak RSS %d MiB", f.backedUp, f.backup.Wall.Round(time.Millisecond), f.backup.PeakRSSKiB>>10)
		if v != nil {
			if f.veleroBackup, err = v.backup(ctx, kubeconfig, "bench"); err != nil {
				return err
			}
			progress("velero backup: %d items in %s, peak RSS %d MiB", f.veleroBackup.Items, f.veleroBackup.Wall.Round(time.Millisecond), f.veleroBackup.PeakRSSKiB>>10)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !c.restore {
		printTable(out, c, f)
		return nil
	}
	err = withCluster(ctx, bins, "bench-dst", func(kubeconfig string, _ *rest.Config) error {
		if f.restore, err = harness.Measure(ctx, env, bin, "restore", "create", "bench", "--from", "bench", "--storage", storage,
			"--kubeconfig", kubeconfig, "--parallelism", strconv.Itoa(c.parallelism)); err != nil {
			return err
		}
		m := restoreCounts.FindSubmatch(f.restore.Stdout)
		if m == nil {
			return fmt.Errorf("cairn restore printed no counts:\n%s", f.restore.Stdout)
		}
		created, _ := strconv.Atoi(string(m[1]))
		skipped, _ := strconv.Atoi(string(m[2]))
		failed, _ := strconv.Atoi(string(m[3]))
		if failed > 0 {
			return fmt.Errorf("cairn restore failed %d items:\n%s", failed, f.restore.Stdout)
		}
		f.restored, f.skipped = created, skipped
		progress("cairn restore: %d created, %d skipped in %s, peak RSS %d MiB", created, skipped, f.restore.Wall.Round(time.Millisecond), f.restore.PeakRSSKiB>>10)
		return nil
	})
	if err != nil {
		return err
	}
	if v != nil {
		err = withCluster(ctx, bins, "bench-velero-dst", func(kubeconfig string, _ *rest.Config) error {
			var err error
			f.veleroRestore, err = v.restore(ctx, kubeconfig, "bench")
			progress("velero restore: %d items in %s, peak RSS %d MiB", f.veleroRestore.Items, f.veleroRestore.Wall.Round(time.Millisecond), f.veleroRestore.PeakRSSKiB>>10)
			return err
		})
		if err != nil {
			return err
		}
	}
	printTable(out, c, f)
	return nil
}

// withCluster runs fn against a fresh local cluster (API server and etcd, no controllers, so
// that what the benchmark makes stays as made) and stops it afterwards.
func withCluster(ctx context.Context, bins localcluster.Binaries, name string, fn func(kubeconfig string, cfg *rest.Config) error) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := localcluster.Start(ctx, localcluster.Options{Name: name, Binaries: bins, Logger: log})
	if err != nil {
		return fmt.Errorf("start cluster %s: %w", name, err)
	}
	defer func() {
		_ = c.Stop(context.Background())
		_ = os.RemoveAll(c.Dir)
	}()
	cfg, err := kube.Target{Kubeconfig: c.State.Kubeconfig}.RESTConfig()
	if err != nil {
		return err
	}
	return fn(c.State.Kubeconfig, cfg)
}

// restoreCounts reads the counts line `cairn restore create` prints (its table output: -o json
// would print every item, and the benchmark measures the restore, not the printing).
var restoreCounts = regexp.MustCompile(`created (\d+), patched \d+, recreated \d+, unchanged \d+, skipped (\d+), failed (\d+)`)

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func printTable(out io.Writer, c config, f figures) {
	fmt.Fprintf(out, "\n%d objects made in %d namespaces (%d per namespace and the namespace, %d CRDs); parallelism %d; storage: S3 on versitygw\n\n",
		f.objects, c.namespaces, objectsPerNamespace, len(crdKinds), c.parallelism)
	fmt.Fprintln(out, "| | time | vs reference | items | peak RSS |")
	fmt.Fprintln(out, "|---|---|---|---|---|")
	fmt.Fprintf(out, "| raw paginated LIST (reference) | %.1f s | 1.00 | %d | |\n", f.rawList.Seconds(), f.listed)
	if c.refBin != "" {
		fmt.Fprintf(out, "| cairn backup, %s | %.1f s | %.2fx | | %d MiB |\n", c.refBin, f.refBackup.Wall.Seconds(), ratio(f.refBackup.Wall, f.rawList), f.refBackup.PeakRSSKiB>>10)
	}
	fmt.Fprintf(out, "| cairn backup | %.1f s | %.2fx | %d | %d MiB |\n", f.backup.Wall.Seconds(), ratio(f.backup.Wall, f.rawList), f.backedUp, f.backup.PeakRSSKiB>>10)
	if f.velero {
		fmt.Fprintf(out, "| Velero backup | %.1f s | %.2fx | %d | %d MiB |\n", f.veleroBackup.Wall.Seconds(), ratio(f.veleroBackup.Wall, f.rawList), f.veleroBackup.Items, f.veleroBackup.PeakRSSKiB>>10)
	}
	if c.restore {
		fmt.Fprintf(out, "| raw parallel create (reference) | %.1f s | 1.00 | %d | |\n", f.rawCreate.Seconds(), f.objects)
		fmt.Fprintf(out, "| cairn restore | %.1f s | %.2fx | %d created, %d skipped | %d MiB |\n", f.restore.Wall.Seconds(), ratio(f.restore.Wall, f.rawCreate), f.restored, f.skipped, f.restore.PeakRSSKiB>>10)
		if f.velero {
			fmt.Fprintf(out, "| Velero restore | %.1f s | %.2fx | %d | %d MiB |\n", f.veleroRestore.Wall.Seconds(), ratio(f.veleroRestore.Wall, f.rawCreate), f.veleroRestore.Items, f.veleroRestore.PeakRSSKiB>>10)
		}
	}
	switch {
	case f.velero && c.restore:
		fmt.Fprintf(out, "\nVelero: %s. cairn is %.1fx faster at backup and %.1fx at restore, at %.0f%% and %.0f%% of Velero's peak RSS.\n",
			f.veleroDescription, ratio(f.veleroBackup.Wall, f.backup.Wall), ratio(f.veleroRestore.Wall, f.restore.Wall),
			100*float64(f.backup.PeakRSSKiB)/float64(max(f.veleroBackup.PeakRSSKiB, 1)), 100*float64(f.restore.PeakRSSKiB)/float64(max(f.veleroRestore.PeakRSSKiB, 1)))
	case f.velero:
		fmt.Fprintf(out, "\nVelero: %s. cairn is %.1fx faster at backup, at %.0f%% of Velero's peak RSS.\n", f.veleroDescription,
			ratio(f.veleroBackup.Wall, f.backup.Wall), 100*float64(f.backup.PeakRSSKiB)/float64(max(f.veleroBackup.PeakRSSKiB, 1)))
	}
	fmt.Fprintf(out, "\ncairn stored %.1f MiB.\n", float64(f.storedBytes)/(1<<20))
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }
