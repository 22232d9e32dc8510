// Command cluster measures cairn on a realistic large cluster: -namespaces namespaces of 300 mixed
// objects each (ConfigMaps and Secrets of mixed sizes, a few near the 1 MiB limit; Deployments
// with their ReplicaSets and Pods; Services, ServiceAccounts, Roles and RoleBindings; custom
// resources of three CRDs), made in a real local kube-apiserver. Beside cairn it measures, in
// the same run, the raw references (a parallel create of the objects, a paginated LIST of them)
// and, with -velero, Velero backing up and restoring the same cluster into the same S3 server.
// Backups go to versitygw; each restore goes into a fresh cluster. It prints a Markdown table.
// -save and -from split a run in two: the first half makes the cluster and backs it up, the
// second, later, restores those backups.
//
//	go run ./bench/cluster -namespaces 1000 -velero     # make bench-cluster
//	go run ./bench/cluster -velero -restore=false -save DIR && go run ./bench/cluster -velero -from DIR
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
	"github.com/cairnbackup/cairn/internal/restore"
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
	// veleroRestoreCap, when above 0, stops Velero's restore once it has run that many times as
	// long as cairn's.
	veleroRestoreCap float64
	// save, when set, keeps the backups and the figures of the source cluster's half in that
	// directory; from, when set, restores the backups a run with save kept there.
	save, from string
}

func main() {
	var c config
	var veleroFlags string
	flag.IntVar(&c.namespaces, "namespaces", 1000, fmt.Sprintf("namespaces of %d objects each", objectsPerNamespace))
	flag.StringVar(&c.cairnBin, "cairn", "bin/cairn", "the cairn binary to measure")
	flag.IntVar(&c.parallelism, "parallelism", restore.DefaultParallelism, "concurrent creates, for the raw reference and cairn's restore alike (default: cairn's)")
	flag.BoolVar(&c.velero, "velero", false, "measure Velero too (make bench-velero installs it)")
	flag.BoolVar(&c.restore, "restore", true, "measure the restores too (false: the backups alone, a quicker run)")
	flag.StringVar(&c.refBin, "reference-cairn", "", "another cairn binary (an earlier build, say) whose backup is measured beside, on the same objects")
	flag.Float64Var(&c.veleroRestoreCap, "velero-restore-cap", 0, "stop Velero's restore once it has run this many times as long as cairn's "+
		"(25, the goal: a result in 25 times cairn's restore time instead of hours); 0 waits for its end")
	flag.StringVar(&c.save, "save", "", "keep the backups and the figures of the cluster's making and backups in this new directory, "+
		"for a later run with -from (with -restore=false, a run in two halves)")
	flag.StringVar(&c.from, "from", "", "restore the backups a run with -save kept in this directory, instead of making a cluster and backing it up; "+
		"the table joins that run's figures")
	flag.StringVar(&veleroFlags, "velero-server-flags", "--client-qps=1000 --client-burst=1000", "flags for velero server")
	flag.Parse()
	c.veleroFlags = strings.Fields(veleroFlags)
	harness.Main("bench/cluster", func(ctx context.Context) error {
		if c.namespaces < 1 {
			return fmt.Errorf("-namespaces %d: give at least 1", c.namespaces)
		}
		if c.save != "" && c.from != "" {
			return fmt.Errorf("-save and -from: give one (-save keeps a run's backups, -from restores them)")
		}
		if c.from != "" && !c.restore {
			return fmt.Errorf("-from %s with -restore=false: a run from saved backups only restores them; drop -restore=false", c.from)
		}
		return run(ctx, c, os.Stdout)
	})
}

// figures are one run's measurements.
type figures struct {
	sourceFigures
	restore           harness.Measured
	restored, skipped int
	velero            bool
	veleroRestore     veleroRun
	// savedAt is when the run -from restores from was saved; zero without -from.
	savedAt time.Time
}

// sourceFigures are what the source cluster's half of a run measures: the references and the
// backups. -save keeps them as they are (hence exported, for JSON).
type sourceFigures struct {
	Objects, Listed    int
	RawCreate, RawList time.Duration
	Backup             harness.Measured
	RefBackup          harness.Measured // of -reference-cairn, if given
	BackedUp           int
	StoredBytes        int64
	VeleroBackup       veleroRun
	VeleroDescription  string
	// CPU is the CPU time of each row of the table, by its name there.
	CPU map[string]cpuUse
}

// cpuUse is the CPU time one run used: the tool's own, the API server's and etcd's, and the S3
// server's. On a machine of two cores, the three share them.
type cpuUse struct{ Tool, Cluster, S3 time.Duration }

// servers are the processes a measured run talks to.
type servers struct {
	cluster []int // the API server and etcd
	s3      int
}

// use runs fn, which returns the tool's own CPU time, and measures the servers' meanwhile.
func (s servers) use(fn func() (time.Duration, error)) (cpuUse, error) {
	cluster, err := harness.StartCPUMeter(s.cluster...)
	if err != nil {
		return cpuUse{}, err
	}
	s3, err := harness.StartCPUMeter(s.s3)
	if err != nil {
		return cpuUse{}, err
	}
	var u cpuUse
	if u.Tool, err = fn(); err != nil {
		return u, err
	}
	if u.Cluster, err = cluster.Used(); err != nil {
		return u, err
	}
	u.S3, err = s3.Used()
	return u, err
}

// inProcess runs fn, a reference run by this program, and returns this process's CPU time
// meanwhile.
func inProcess(fn func() error) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		self, err := harness.StartCPUMeter(os.Getpid())
		if err != nil {
			return 0, err
		}
		if err := fn(); err != nil {
			return 0, err
		}
		return self.Used()
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	bin, err := harness.CairnBinary(c.cairnBin)
	if err != nil {
		return err
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
	f := figures{sourceFigures: sourceFigures{CPU: map[string]cpuUse{}}, velero: c.velero}
	s3Dir, s3Prior := work, (*harness.S3)(nil)
	var saved savedRun
	switch {
	case c.from != "":
		if saved, err = loadRun(c.from); err != nil {
			return err
		}
		if c.velero && !saved.Velero {
			return fmt.Errorf("-from %s: that run did not back up with Velero; drop -velero, or save a run that has it", c.from)
		}
		saved.apply(&c, &f)
		if err := copyS3Data(ctx, c.from, work); err != nil {
			return err
		}
		s3Prior = &saved.S3
	case c.save != "":
		if err := checkSaveDir(c.save); err != nil {
			return err
		}
		s3Dir = c.save
	}
	s3, err := startS3(ctx, bins, s3Dir, s3Prior)
	if err != nil {
		return err
	}
	defer func() { _ = s3.Stop() }()
	var v *velero
	if c.velero {
		if v, err = newVelero(bins, s3, c.veleroFlags); err != nil {
			return err
		}
		if c.from != "" && v.describe() != saved.VeleroDescription {
			return fmt.Errorf("-from %s: Velero here is %s, the saved run's backup was made by %s; run the same", c.from, v.describe(), saved.VeleroDescription)
		}
		f.VeleroDescription = v.describe()
	}
	env := []string{"CAIRN_PASSPHRASE=benchmark-passphrase", "AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey}
	storage := fmt.Sprintf("s3://%s/cairn?endpoint=%s&region=%s&pathStyle=true", s3.Bucket, url.QueryEscape(s3.Endpoint()), s3.Region)
	if c.from == "" {
		if err := backUpSource(ctx, c, bins, s3, v, bin, env, storage, &f); err != nil {
			return err
		}
		if c.save != "" {
			if err := saveRun(c.save, c, f, s3, time.Now()); err != nil {
				return err
			}
			progress("saved the backups and their figures in %s: restore them with -from %s", c.save, c.save)
		}
	}
	if !c.restore {
		printTable(out, c, f)
		return nil
	}
	err = withCluster(ctx, bins, "bench-dst", s3, func(kubeconfig string, _ *rest.Config, srv servers) error {
		if f.restore, f.CPU[rowRestore], err = measure(ctx, srv, env, bin, "restore", "create", "bench", "--from", "bench", "--storage", storage,
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
		err = withCluster(ctx, bins, "bench-velero-dst", s3, func(kubeconfig string, _ *rest.Config, srv servers) error {
			var err error
			f.CPU[rowVeleroRestore], err = srv.use(func() (time.Duration, error) {
				var err error
				f.veleroRestore, err = v.restore(ctx, kubeconfig, "bench", time.Duration(c.veleroRestoreCap*float64(f.restore.Wall)))
				return f.veleroRestore.CPU, err
			})
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

// backUpSource makes the source cluster, measures the references on it and backs it up with
// cairn (and the reference build) and, with v, Velero, into f.
func backUpSource(ctx context.Context, c config, bins localcluster.Binaries, s3 harness.S3, v *velero, bin string, env []string, storage string,
	f *figures) error {
	var refBin string
	if c.refBin != "" {
		var err error
		if refBin, err = harness.CairnBinary(c.refBin); err != nil {
			return err
		}
	}
	return withCluster(ctx, bins, "bench-src", s3, func(kubeconfig string, cfg *rest.Config, srv servers) error {
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			return err
		}
		if err := createCRDs(ctx, dyn); err != nil {
			return err
		}
		progress("creating %d objects in %d namespaces", c.namespaces*objectsPerNamespace, c.namespaces)
		began := time.Now()
		if f.CPU[rowRawCreate], err = srv.use(inProcess(func() (err error) {
			f.Objects, err = createNamespaces(ctx, dyn, c.namespaces, c.parallelism)
			return err
		})); err != nil {
			return err
		}
		f.RawCreate = time.Since(began)
		f.Objects += len(crdKinds)
		progress("raw create: %d objects in %s", f.Objects, f.RawCreate.Round(time.Millisecond))
		began = time.Now()
		if f.CPU[rowRawList], err = srv.use(inProcess(func() (err error) {
			f.Listed, err = rawList(ctx, cfg)
			return err
		})); err != nil {
			return err
		}
		f.RawList = time.Since(began)
		progress("raw LIST: %d objects in %s", f.Listed, f.RawList.Round(time.Millisecond))
		if refBin != "" {
			if f.RefBackup, f.CPU[rowRefBackup], err = measure(ctx, srv, env, refBin, "backup", "create", "bench-reference", "--storage", storage,
				"--kubeconfig", kubeconfig, "-o", "json"); err != nil {
				return err
			}
			progress("reference cairn backup: %s, peak RSS %d MiB", f.RefBackup.Wall.Round(time.Millisecond), f.RefBackup.PeakRSSKiB>>10)
		}
		if f.Backup, f.CPU[rowBackup], err = measure(ctx, srv, env, bin, "backup", "create", "bench", "--storage", storage,
			"--kubeconfig", kubeconfig, "-o", "json"); err != nil {
			return err
		}
		var rp struct {
			Result struct {
				Items       int   `json:"items"`
				StoredBytes int64 `json:"storedBytes"`
			} `json:"result"`
		}
		if err := json.Unmarshal(f.Backup.Stdout, &rp); err != nil {
			return fmt.Errorf("cairn backup's output: %w", err)
		}
		f.BackedUp, f.StoredBytes = rp.Result.Items, rp.Result.StoredBytes
		progress("cairn backup: %d items in %s, peak RSS %d MiB", f.BackedUp, f.Backup.Wall.Round(time.Millisecond), f.Backup.PeakRSSKiB>>10)
		if v != nil {
			if f.CPU[rowVeleroBackup], err = srv.use(func() (cpu time.Duration, err error) {
				f.VeleroBackup, err = v.backup(ctx, kubeconfig, "bench")
				return f.VeleroBackup.CPU, err
			}); err != nil {
				return err
			}
			progress("velero backup: %d items in %s, peak RSS %d MiB", f.VeleroBackup.Items, f.VeleroBackup.Wall.Round(time.Millisecond), f.VeleroBackup.PeakRSSKiB>>10)
		}
		return nil
	})
}

// measure runs a cairn command as harness.Measure does and measures the servers' CPU time too.
func measure(ctx context.Context, srv servers, env []string, bin string, args ...string) (harness.Measured, cpuUse, error) {
	var m harness.Measured
	u, err := srv.use(func() (time.Duration, error) {
		var err error
		m, err = harness.Measure(ctx, env, bin, args...)
		return m.CPU, err
	})
	return m, u, err
}

// withCluster runs fn against a fresh local cluster (API server and etcd, no controllers, so
// that what the benchmark makes stays as made) and stops it afterwards. fn is given the servers
// whose CPU time runs against it are measured by: the cluster's and the S3 server.
func withCluster(ctx context.Context, bins localcluster.Binaries, name string, s3 harness.S3,
	fn func(kubeconfig string, cfg *rest.Config, srv servers) error) error {
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
	srv := servers{s3: s3.Pid()}
	for _, component := range []string{"etcd", "kube-apiserver"} {
		pid, ok := c.Pid(component)
		if !ok {
			return fmt.Errorf("cluster %s: %s is not running", name, component)
		}
		srv.cluster = append(srv.cluster, pid)
	}
	return fn(c.State.Kubeconfig, cfg, srv)
}

// restoreCounts reads the counts line `cairn restore create` prints (its table output: -o json
// would print every item, and the benchmark measures the restore, not the printing).
var restoreCounts = regexp.MustCompile(`created (\d+), patched \d+, recreated \d+, unchanged \d+, skipped (\d+), failed (\d+)`)

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// The table's rows.
const (
	rowRawList       = "raw paginated LIST (reference)"
	rowRefBackup     = "cairn backup, reference build"
	rowBackup        = "cairn backup"
	rowVeleroBackup  = "Velero backup"
	rowRawCreate     = "raw parallel create (reference)"
	rowRestore       = "cairn restore"
	rowVeleroRestore = "Velero restore"
)

func printTable(out io.Writer, c config, f figures) {
	fmt.Fprintf(out, "\n%d objects made in %d namespaces (%d per namespace and the namespace, %d CRDs); parallelism %d; storage: S3 on versitygw\n\n",
		f.Objects, c.namespaces, objectsPerNamespace, len(crdKinds), c.parallelism)
	if !f.savedAt.IsZero() {
		fmt.Fprintf(out, "The cluster was made, listed and backed up by a run saved at %s (-save); this run (-from) made the restores.\n\n",
			f.savedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(out, "| | time | vs reference | items | peak RSS | CPU: tool | CPU: API server + etcd | CPU: S3 server |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	row := func(name, label string, wall, reference time.Duration, items string, rssKiB int64) {
		rss := ""
		if rssKiB > 0 {
			rss = fmt.Sprintf("%d MiB", rssKiB>>10)
		}
		u := f.CPU[name]
		fmt.Fprintf(out, "| %s%s | %.1f s | %.2fx | %s | %s | %.1f s | %.1f s | %.1f s |\n", name, label, wall.Seconds(), ratio(wall, reference), items, rss,
			u.Tool.Seconds(), u.Cluster.Seconds(), u.S3.Seconds())
	}
	row(rowRawList, "", f.RawList, f.RawList, strconv.Itoa(f.Listed), 0)
	if c.refBin != "" {
		row(rowRefBackup, " "+c.refBin, f.RefBackup.Wall, f.RawList, "", f.RefBackup.PeakRSSKiB)
	}
	row(rowBackup, "", f.Backup.Wall, f.RawList, strconv.Itoa(f.BackedUp), f.Backup.PeakRSSKiB)
	if f.velero {
		row(rowVeleroBackup, "", f.VeleroBackup.Wall, f.RawList, strconv.Itoa(f.VeleroBackup.Items), f.VeleroBackup.PeakRSSKiB)
	}
	if c.restore {
		row(rowRawCreate, "", f.RawCreate, f.RawCreate, strconv.Itoa(f.Objects), 0)
		row(rowRestore, "", f.restore.Wall, f.RawCreate, fmt.Sprintf("%d created, %d skipped", f.restored, f.skipped), f.restore.PeakRSSKiB)
		if f.velero {
			label, items := "", strconv.Itoa(f.veleroRestore.Items)
			if f.veleroRestore.Stopped {
				label = fmt.Sprintf(", stopped at %gx cairn's time", c.veleroRestoreCap)
				items = fmt.Sprintf("%d of %d, unfinished", f.veleroRestore.Items, f.veleroRestore.Total)
			}
			row(rowVeleroRestore, label, f.veleroRestore.Wall, f.RawCreate, items, f.veleroRestore.PeakRSSKiB)
		}
	}
	switch {
	case f.velero && c.restore:
		atLeast := ""
		if f.veleroRestore.Stopped {
			atLeast = "at least "
		}
		fmt.Fprintf(out, "\nVelero: %s. cairn is %.1fx faster at backup and %s%.1fx at restore, at %.0f%% and %.0f%% of Velero's peak RSS.\n",
			f.VeleroDescription, ratio(f.VeleroBackup.Wall, f.Backup.Wall), atLeast, ratio(f.veleroRestore.Wall, f.restore.Wall),
			100*float64(f.Backup.PeakRSSKiB)/float64(max(f.VeleroBackup.PeakRSSKiB, 1)), 100*float64(f.restore.PeakRSSKiB)/float64(max(f.veleroRestore.PeakRSSKiB, 1)))
	case f.velero:
		fmt.Fprintf(out, "\nVelero: %s. cairn is %.1fx faster at backup, at %.0f%% of Velero's peak RSS.\n", f.VeleroDescription,
			ratio(f.VeleroBackup.Wall, f.Backup.Wall), 100*float64(f.Backup.PeakRSSKiB)/float64(max(f.VeleroBackup.PeakRSSKiB, 1)))
	}
	fmt.Fprintf(out, "\ncairn stored %.1f MiB. CPU: the tool's own (the references are this program), the API server's and etcd's, and the S3 server's, while it ran.\n", float64(f.StoredBytes)/(1<<20))
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }
