// Command objects measures cairn's backup and restore of many small objects against a real local
// kube-apiserver, beside the raw references measured in the same run: a paginated LIST of the
// same objects, and a parallel create of them, with the same client settings. It prints a
// Markdown table. Run it with `make bench`.
//
//	go run ./bench/objects -counts 10000,100000 -kinds configmaps,secrets
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/bench/internal/harness"
	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/restore"
)

func main() {
	counts := flag.String("counts", "10000,100000", "object counts to measure")
	kinds := flag.String("kinds", "configmaps,secrets", "object kinds: configmaps, secrets")
	cairnBin := flag.String("cairn", "bin/cairn", "the cairn binary to measure")
	parallelism := flag.Int("parallelism", restore.DefaultParallelism, "concurrent creates, for the raw reference and cairn's restore alike (default: cairn's)")
	flag.Parse()
	if err := run(context.Background(), *counts, *kinds, *cairnBin, *parallelism, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type row struct {
	kind                        string
	n                           int
	rawCreate, rawList          time.Duration
	backup, restore             time.Duration
	backupRSSKiB, restoreRSSKiB int64
	storedBytes                 int64
}

func run(ctx context.Context, countsFlag, kindsFlag, cairnBin string, parallelism int, out io.Writer) error {
	bin, err := harness.CairnBinary(cairnBin)
	if err != nil {
		return err
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "bench", Binaries: bins, Logger: log})
	if err != nil {
		return err
	}
	defer func() { _ = c.Stop(context.Background()) }()
	cfg, err := kube.Target{Kubeconfig: c.State.Kubeconfig}.RESTConfig()
	if err != nil {
		return err
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	repo, err := os.MkdirTemp("", "cairn-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(repo)

	var rows []row
	for _, kind := range strings.Split(kindsFlag, ",") {
		for _, cs := range strings.Split(countsFlag, ",") {
			n, err := strconv.Atoi(cs)
			if err != nil {
				return fmt.Errorf("count %q: %w", cs, err)
			}
			r, err := measure(ctx, cfg, client, bin, c.State.Kubeconfig, "file://"+repo, kind, n, parallelism)
			if err != nil {
				return err
			}
			rows = append(rows, r)
			fmt.Fprintf(os.Stderr, "measured %s x %d\n", kind, n)
		}
	}
	printTable(out, rows, parallelism)
	return nil
}

func measure(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, bin, kubeconfig, repo, kind string, n, parallelism int) (row, error) {
	r := row{kind: kind, n: n}
	src := fmt.Sprintf("bench-%s-%d", kind, n)
	dst := src + "-restored"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: src}}, metav1.CreateOptions{}); err != nil {
		return r, err
	}
	began := time.Now()
	if err := createObjects(ctx, client, kind, src, n, parallelism); err != nil {
		return r, err
	}
	r.rawCreate = time.Since(began)

	began = time.Now()
	listed, err := rawList(ctx, cfg, kind, src)
	if err != nil {
		return r, err
	}
	r.rawList = time.Since(began)
	if listed != n {
		return r, fmt.Errorf("raw list of %s found %d objects, want %d", src, listed, n)
	}

	name := src
	stats, err := cairn(ctx, bin, kubeconfig, "backup", "create", name, "--storage", repo, "--include-namespaces", src,
		"--include-resources", kind, "-o", "json")
	if err != nil {
		return r, err
	}
	r.backup, r.backupRSSKiB = stats.Wall, stats.PeakRSSKiB
	var rp struct {
		Result struct {
			Items       int   `json:"items"`
			StoredBytes int64 `json:"storedBytes"`
		} `json:"result"`
	}
	if err := json.Unmarshal(stats.Stdout, &rp); err != nil {
		return r, fmt.Errorf("backup output: %w", err)
	}
	r.storedBytes = rp.Result.StoredBytes
	stats, err = cairn(ctx, bin, kubeconfig, "restore", "create", name, "--from", name, "--storage", repo,
		"--namespace-mapping", src+"="+dst, "--include-resources", kind, "--parallelism", strconv.Itoa(parallelism), "-o", "json")
	if err != nil {
		return r, err
	}
	r.restore, r.restoreRSSKiB = stats.Wall, stats.PeakRSSKiB
	restored, err := rawList(ctx, cfg, kind, dst)
	if err != nil {
		return r, err
	}
	if restored < n {
		return r, fmt.Errorf("restore into %s holds %d objects, want %d", dst, restored, n)
	}
	return r, nil
}

// createObjects is the raw create reference: n objects of about 1 KiB, parallelism at a time.
func createObjects(ctx context.Context, client kubernetes.Interface, kind, ns string, n, parallelism int) error {
	payload := strings.Repeat("x", 1000)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, parallelism)
	for range parallelism {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				meta := metav1.ObjectMeta{Name: fmt.Sprintf("obj-%07d", i), Namespace: ns, Labels: map[string]string{"bench": "yes"}}
				var err error
				switch kind {
				case "configmaps":
					_, err = client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"payload": payload}}, metav1.CreateOptions{})
				case "secrets":
					_, err = client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"payload": []byte(payload)}}, metav1.CreateOptions{})
				default:
					err = fmt.Errorf("unknown kind %q", kind)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// rawList is the LIST reference: pages of 500, each decoded only as far as its items.
func rawList(ctx context.Context, cfg *rest.Config, kind, ns string) (int, error) {
	client := kubernetes.NewForConfigOrDie(rest.CopyConfig(cfg)).CoreV1().RESTClient()
	return harness.CountList(ctx, client, "/api/v1/namespaces/"+ns+"/"+kind)
}

// cairn runs the cairn binary against the cluster kubeconfig names.
func cairn(ctx context.Context, bin, kubeconfig string, args ...string) (harness.Measured, error) {
	return harness.Measure(ctx, []string{"CAIRN_PASSPHRASE=benchmark-passphrase"}, bin, append(args, "--kubeconfig", kubeconfig)...)
}

func printTable(out io.Writer, rows []row, parallelism int) {
	fmt.Fprintf(out, "\n| objects | raw LIST | backup | backup/LIST | backup obj/s | backup peak RSS | raw create (x%d) | restore | restore/create | restore obj/s | restore peak RSS | stored |\n", parallelism)
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %d %s | %.2f s | %.2f s | %.2f | %.0f | %d MiB | %.2f s | %.2f s | %.2f | %.0f | %d MiB | %.1f MiB |\n",
			r.n, r.kind, r.rawList.Seconds(), r.backup.Seconds(), r.backup.Seconds()/r.rawList.Seconds(),
			float64(r.n)/r.backup.Seconds(), r.backupRSSKiB/1024, r.rawCreate.Seconds(), r.restore.Seconds(),
			r.restore.Seconds()/r.rawCreate.Seconds(), float64(r.n)/r.restore.Seconds(), r.restoreRSSKiB/1024,
			float64(r.storedBytes)/(1<<20))
	}
}
