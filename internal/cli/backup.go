package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/files"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/usecase"
)

func newBackupCommand(target *kube.Target, env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "backup", Short: "Create, list, inspect, verify and delete backups"}
	cmd.AddCommand(newBackupCreateCommand(target, env), newBackupListCommand(env), newBackupDescribeCommand(env),
		newBackupVerifyCommand(env), newBackupDeleteCommand(target, env), newBackupPruneCommand(target, env))
	return cmd
}

// scopeFlags are the filters shared by backup and restore.
type scopeFlags struct {
	includeNamespaces, excludeNamespaces []string
	includeResources, excludeResources   []string
	selectors                            []string
	clusterResources                     string
}

func (f *scopeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.includeNamespaces, "include-namespaces", nil, "namespaces to include (globs allowed; default: all but kube-system, kube-public, kube-node-lease)")
	fl.StringSliceVar(&f.excludeNamespaces, "exclude-namespaces", nil, "namespaces to exclude (globs allowed)")
	fl.StringSliceVar(&f.includeResources, "include-resources", nil, "resource types to include, e.g. deployments,configmaps,widgets.example.com (default: all)")
	fl.StringSliceVar(&f.excludeResources, "exclude-resources", nil, "resource types to exclude")
	fl.StringArrayVarP(&f.selectors, "selector", "l", nil, "label selector; repeat for OR (AND within one selector)")
	fl.StringVar(&f.clusterResources, "include-cluster-resources", scope.ClusterAuto,
		"cluster-scoped resources: auto (all for a whole-cluster scope, only dependencies when scoped to namespaces), true, false")
}

func (f *scopeFlags) spec() scope.Spec {
	return scope.Spec{IncludedNamespaces: f.includeNamespaces, ExcludedNamespaces: f.excludeNamespaces,
		IncludedResources: f.includeResources, ExcludedResources: f.excludeResources,
		LabelSelectors: f.selectors, IncludeClusterResources: f.clusterResources}
}

func (f *scopeFlags) scope() (*scope.Scope, error) {
	return scope.New(f.spec())
}

func newBackupCreateCommand(target *kube.Target, env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var sf scopeFlags
	var vf volumeFlags
	var output, lockFor, retain string
	var hookRefs []string
	var parallelism int
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Back up the cluster's objects into a new recovery point",
		Example: `  export CAIRN_PASSPHRASE=...   # the repository's passphrase
  cairn backup create nightly --storage file:///var/backups/cairn
  cairn backup create shop-1 --storage file:///var/backups/cairn --include-namespaces shop -l app=web`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			// The use case checks the name and the scope too; here they fail as flags, before the
			// cluster is reached.
			if err := archive.ValidateName(args[0]); err != nil {
				return err
			}
			if _, err := sf.scope(); err != nil {
				return err
			}
			var lockUntil time.Time
			if lockFor != "" {
				d, err := parseDays(lockFor)
				if err != nil {
					return fmt.Errorf("--lock-for %q: %w", lockFor, err)
				}
				lockUntil = env.now().Add(d)
			}
			var expiresAt time.Time
			if retain != "" {
				d, err := parseDays(retain)
				if err != nil {
					return fmt.Errorf("--retain %q: %w", retain, err)
				}
				expiresAt = env.now().Add(d).UTC().Truncate(time.Second)
			}
			volumes, err := vf.volumes()
			if err != nil {
				return err
			}
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			bar := newProgressLine(env.Stderr)
			runner := &usecase.Runner{Config: cfg}
			got, err := runner.Backup(cmd.Context(), usecase.BackupRequest{
				Repository: repo.ref(env.Stderr), Name: args[0], Scope: sf.spec(), Volumes: volumes, Hooks: hookRefs,
				Parallelism: parallelism, LockUntil: lockUntil, ExpiresAt: expiresAt,
				Progress: func(p usecase.Progress) {
					switch {
					case (p.Stage == usecase.StageCopy || p.Stage == usecase.StageFSBackup) && p.Resource != "":
						bar.update("%s: %s, last %s", p.Stage, humanize.Bytes(p.Bytes), p.Resource)
						return
					case p.Stage != usecase.StageBackup:
						bar.update("%s", p.Stage)
						return
					}
					bar.update("backing up: %d items, %s  %s", p.Items, humanize.Bytes(p.Bytes), p.Resource)
				},
			})
			bar.done()
			if err != nil {
				return err
			}
			rp := got.RecoveryPoint
			if ok, err := printStructured(cmd.OutOrStdout(), output, rp); ok {
				return err
			}
			printBackupSummary(cmd.OutOrStdout(), rp)
			if rp.Result.Phase != archive.PhaseCompleted {
				return fmt.Errorf("backup %q %s with %d error(s)", rp.Name, strings.ToLower(phaseVerb(rp.Result.Phase)), len(rp.Result.Errors))
			}
			return nil
		},
	}
	repo.register(cmd, true)
	sf.register(cmd)
	cmd.Flags().IntVar(&parallelism, "parallelism", 4, "resource types listed at once")
	vf.register(cmd)
	cmd.Flags().StringArrayVar(&hookRefs, "backup-hook", nil, "run the hooks of BackupHook NAMESPACE/NAME around the backup (repeat for more)")
	cmd.Flags().StringVar(&retain, "retain", "", "keep the backup this long, e.g. 7d or 36h; cairn backup prune deletes it (and its snapshots) afterwards")
	cmd.Flags().StringVar(&lockFor, "lock-for", "", "make the backup immutable in storage for this long, e.g. 30d or 720h (S3 object lock, Azure immutability; file:// enforces it within cairn)")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func phaseVerb(phase string) string {
	if phase == archive.PhaseFailed {
		return "failed"
	}
	return "partially failed"
}

func printBackupSummary(out io.Writer, rp archive.RecoveryPoint) {
	r := rp.Result
	fmt.Fprintf(out, "backup %q: %s\n", rp.Name, r.Phase)
	fmt.Fprintf(out, "  items:      %d in %d resource types, %d namespaces\n", r.Items, len(r.Resources), len(r.Namespaces))
	fmt.Fprintf(out, "  size:       %s raw, %s stored (%s)\n", humanize.Bytes(r.RawBytes), humanize.Bytes(r.StoredBytes), rp.Encryption)
	if len(rp.Volumes) > 0 {
		v := rp.VolumeSummary()
		protection := "all protected"
		if v.Skipped+v.Failed > 0 {
			protection = "partial protection"
		}
		copies := ""
		if v.Copied+v.CopyFailed > 0 {
			copies = fmt.Sprintf(", %d copied, %d copies failed", v.Copied, v.CopyFailed)
		}
		fmt.Fprintf(out, "  volumes:    %d snapshotted, %d skipped, %d failed%s (%s)\n", v.Snapshotted, v.Skipped, v.Failed, copies, protection)
	}
	fmt.Fprintf(out, "  duration:   %s\n", time.Duration(r.DurationSeconds*float64(time.Second)).Round(time.Millisecond))
	if !rp.ExpiresAt.IsZero() {
		fmt.Fprintf(out, "  expires:    %s\n", rp.ExpiresAt.Format(time.RFC3339))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "  warning:    %s\n", w)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(out, "  error:      %s\n", e)
	}
	printHookExecutions(out, rp.Hooks)
}

func newBackupListCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the backups in a repository (read from the storage itself)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			r, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			cat, err := r.Catalog(cmd.Context())
			if err != nil {
				return err
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, catalogView(cat)); ok {
				return err
			}
			t := newTable(cmd.OutOrStdout())
			fmt.Fprintln(t, "NAME\tPHASE\tSTARTED\tITEMS\tSTORED\tNAMESPACES")
			for _, e := range cat {
				if e.Manifest == nil {
					fmt.Fprintf(t, "%s\t%s\t\t\t\t\n", e.Name, "Unusable: "+e.Problem)
					continue
				}
				m := e.Manifest
				fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%s\t%s\n", e.Name, m.Result.Phase, m.StartedAt.Format(time.RFC3339),
					m.Result.Items, humanize.Bytes(m.Result.StoredBytes), summarize(m.Result.Namespaces, 3))
			}
			return t.Flush()
		},
	}
	repo.register(cmd, false)
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

type catalogItem struct {
	Name     string                 `json:"name"`
	Problem  string                 `json:"problem,omitempty"`
	Manifest *archive.RecoveryPoint `json:"recoveryPoint,omitempty"`
}

func catalogView(cat []archive.CatalogEntry) []catalogItem {
	out := make([]catalogItem, 0, len(cat))
	for _, e := range cat {
		out = append(out, catalogItem{Name: e.Name, Problem: e.Problem, Manifest: e.Manifest})
	}
	return out
}

func summarize(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ",")
	}
	return fmt.Sprintf("%s,+%d", strings.Join(list[:n], ","), len(list)-n)
}

func newBackupDescribeCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var output string
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a backup's scope, result and contents",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			r, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			b, err := r.OpenBackup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rp := b.Manifest()
			if ok, err := printStructured(cmd.OutOrStdout(), output, rp); ok {
				return err
			}
			out := cmd.OutOrStdout()
			printBackupSummary(out, rp)
			fmt.Fprintf(out, "  started:    %s\n  cluster:    %s (%s)\n", rp.StartedAt.Format(time.RFC3339), rp.Cluster.Server, rp.Cluster.KubernetesVersion)
			fmt.Fprintf(out, "  scope:      namespaces %v, excluded %v, resources %v, excluded %v, selectors %v, cluster resources %s\n",
				orAll(rp.Spec.IncludedNamespaces), rp.Spec.ExcludedNamespaces, orAll(rp.Spec.IncludedResources), rp.Spec.ExcludedResources,
				rp.Spec.LabelSelectors, rp.Spec.IncludeClusterResources)
			printPointInTime(out, rp.PointInTime)
			printVolumeRecords(out, rp.Volumes)
			t := newTable(out)
			fmt.Fprintln(t, "\nRESOURCE\tITEMS")
			for _, rc := range rp.Result.Resources {
				fmt.Fprintf(t, "%s\t%d\n", rc.Resource, rc.Items)
			}
			return t.Flush()
		},
	}
	repo.register(cmd, false)
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

// printPointInTime says which moment of the cluster a backup's objects are (docs/design/format.md,
// 4.3.3).
func printPointInTime(out io.Writer, pit *archive.PointInTime) {
	if pit == nil {
		fmt.Fprintln(out, "  state at:   each resource at its own moment (no resourceVersion recorded)")
		return
	}
	if len(pit.Others) == 0 {
		fmt.Fprintf(out, "  state at:   resourceVersion %s (every object)\n", pit.ResourceVersion)
		return
	}
	fmt.Fprintf(out, "  state at:   resourceVersion %s, but %d resource(s) at another moment:\n", pit.ResourceVersion, len(pit.Others))
	for _, o := range pit.Others {
		fmt.Fprintf(out, "    %s: %s\n", o.Resource, o.Reason)
	}
}

func orAll(list []string) any {
	if len(list) == 0 {
		return "all"
	}
	return list
}

func newBackupVerifyCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var all bool
	var level string
	var rd readDataFlags
	cmd := &cobra.Command{
		Use:   "verify [NAME...]",
		Short: "Check backups end to end: authentication, checksums, missing or added files, every item, their volume copies; with --all the file store too",
		Long: `Check backups. --level data (the default) reads everything: the manifest's authentication, every
file against its checksum, every section and item, and every data blob of the backup's volume copies.
--level structure reads no data: the manifest's authentication, every file present with its size and
nothing added, the index, and the volume copies' snapshots and directory trees.
With --all every backup is checked at the level, then the whole file store (--read-data reads it).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := checkChoice("level", level, usecase.VerifyLevels); err != nil {
				return err
			}
			readOpts, err := rd.options()
			if err != nil {
				return err
			}
			if !all && (readOpts.ReadData || readOpts.ReadSubset > 0) {
				return fmt.Errorf("--read-data and --read-data-subset check the file store, which --all verifies")
			}
			r, err := repo.open(ctx)
			if err != nil {
				return err
			}
			names, err := verifyTargets(ctx, r, args, all)
			if err != nil {
				return err
			}
			bad := 0
			out := cmd.OutOrStdout()
			for _, n := range names {
				rep, err := usecase.VerifyRecoveryPoint(ctx, r, n, level, files.Options{Clock: env.now})
				if err != nil {
					rep.Problems = append(rep.Problems, err.Error())
				}
				if len(rep.Problems) == 0 {
					fmt.Fprintf(out, "%s: intact (%s)\n", n, describeVerified(rep))
					continue
				}
				bad++
				fmt.Fprintf(out, "%s: DAMAGED\n", n)
				for _, p := range rep.Problems {
					fmt.Fprintf(out, "  - %s\n", p)
				}
			}
			var filesErr error
			if all {
				st, err := files.Open(r, files.Options{Clock: env.now})
				if err != nil {
					return err
				}
				filesErr = verifyFiles(ctx, st, readOpts, outputTable, out)
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d backups failed verification", bad, len(names))
			}
			return filesErr
		},
	}
	repo.register(cmd, false)
	cmd.Flags().BoolVar(&all, "all", false, "verify every backup in the repository and its file store")
	cmd.Flags().StringVar(&level, "level", usecase.VerifyData, "what to read: data (every byte) or structure (authentication, files and sizes, index, copies' trees)")
	rd.register(cmd)
	return cmd
}

// describeVerified says what a verification that found nothing checked.
func describeVerified(rep usecase.VerifyReport) string {
	out := fmt.Sprintf("%d files, %d sections", rep.Files, rep.Sections)
	if rep.Level == usecase.VerifyData {
		out += fmt.Sprintf(", %d items", rep.Items)
	}
	if rep.Copies > 0 {
		out += fmt.Sprintf(", %d volume copies", rep.Copies)
		if rep.Level == usecase.VerifyData {
			out += fmt.Sprintf(" (%d blobs, %s read)", rep.Blobs, humanize.Bytes(rep.BytesRead))
		}
	}
	if rep.Level == usecase.VerifyStructure {
		out += "; structure only"
	}
	return out
}

func verifyTargets(ctx context.Context, r *archive.Repository, args []string, all bool) ([]string, error) {
	switch {
	case all && len(args) > 0:
		return nil, fmt.Errorf("give backup names or --all, not both")
	case all:
		cat, err := r.Catalog(ctx)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range cat {
			names = append(names, e.Name)
		}
		return names, nil
	case len(args) == 0:
		return nil, fmt.Errorf("name the backups to verify, or use --all")
	}
	return args, nil
}

func newBackupDeleteCommand(target *kube.Target, env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var keepSnapshots bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a backup and its volume snapshots (also an incomplete or damaged backup)",
		Long: `Delete a backup: first its volume snapshots, in the cluster it was taken from (--kubeconfig/--context),
except snapshots another backup still records; then its files. If a snapshot cannot be deleted the
backup is kept, so nothing is orphaned.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			snaps := clusterSnapshotter(target, keepSnapshots)
			d, err := backup.Delete(cmd.Context(), r, args[0], snaps)
			if err != nil {
				return err
			}
			printDeleted(cmd.OutOrStdout(), d)
			return nil
		},
	}
	repo.register(cmd, false)
	cmd.Flags().BoolVar(&keepSnapshots, "keep-snapshots", false, "delete only the backup's files and leave its volume snapshots (for a cluster that is gone)")
	return cmd
}

func newBackupPruneCommand(target *kube.Target, env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Apply retention: delete the backups whose --retain time has passed, with their volume snapshots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			deleted, err := backup.Prune(cmd.Context(), r, env.now(), clusterSnapshotter(target, false), dryRun)
			for _, d := range deleted {
				if dryRun {
					fmt.Fprintf(cmd.OutOrStdout(), "would delete backup %q\n", d.Name)
					continue
				}
				printDeleted(cmd.OutOrStdout(), d)
			}
			if len(deleted) == 0 && err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), "no backup has expired")
			}
			return err
		},
	}
	repo.register(cmd, false)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the expired backups and delete nothing")
	return cmd
}

// clusterSnapshotter is the snapshotter of the --kubeconfig cluster, or nil when there is none
// (deleting a backup with snapshots then says it needs the cluster).
func clusterSnapshotter(target *kube.Target, off bool) *snapshot.Snapshotter {
	if off {
		return nil
	}
	cfg, err := target.RESTConfig()
	if err != nil {
		return nil
	}
	s, err := snapshot.New(cfg, snapshot.Options{})
	if err != nil {
		return nil
	}
	return s
}

func printDeleted(out io.Writer, d backup.Deleted) {
	fmt.Fprintf(out, "deleted backup %q (%d files, %d volume snapshots)\n", d.Name, d.Files, d.SnapshotsDeleted)
	for _, k := range d.SnapshotsKept {
		fmt.Fprintf(out, "  kept snapshot %s\n", k)
	}
}

// parseDays reads a Go duration, also accepting whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("use a positive number of days like 30d, or a duration like 720h")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("use a positive number of days like 30d, or a duration like 720h")
	}
	return d, nil
}
