package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/buildinfo"
	"github.com/cairnbackup/cairn/internal/files"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/mover"
)

// filesMemoryLimit is the Go runtime's soft memory limit for the file commands unless
// GOMEMLIMIT says otherwise: with it a backup or a restore stays near 200 MiB resident whatever
// the source's size (docs/design/format.md §18).
const filesMemoryLimit = 160 << 20

func newFilesCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "files", Short: "Back up and restore directories into the repository's deduplicated file store",
		PersistentPreRun: func(*cobra.Command, []string) {
			if env.LimitMemory != nil {
				env.LimitMemory(filesMemoryLimit)
			}
		}}
	cmd.AddCommand(newFilesBackupCommand(env), newFilesListCommand(env), newFilesLsCommand(env), newFilesRestoreCommand(env),
		newFilesForgetCommand(env), newFilesGCCommand(env), newFilesVerifyCommand(env))
	return cmd
}

// openFiles unlocks the repository's file store.
func openFiles(ctx context.Context, repo *repoFlags, env Env, create bool) (*files.Store, error) {
	st, _, err := openFilesIn(ctx, repo, env, create)
	return st, err
}

// openFilesIn unlocks the repository's file store and returns the repository too.
func openFilesIn(ctx context.Context, repo *repoFlags, env Env, create bool) (*files.Store, *archive.Repository, error) {
	open := repo.open
	if create {
		open = func(ctx context.Context) (*archive.Repository, error) { return repo.openOrInit(ctx, env.Stderr) }
	}
	r, err := open(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := files.Open(r, files.Options{Clock: env.now})
	return st, r, err
}

func newFilesBackupCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var source, output, resultFile string
	var tags []string
	var readAll bool
	cmd := &cobra.Command{
		Use:   "backup DIR|BLOCK-DEVICE",
		Short: "Back up a directory, or a block device whole, as a new file snapshot; prints the snapshot's ID",
		Example: `  export CAIRN_PASSPHRASE=...
  cairn files backup /var/lib/data --storage file:///var/backups/cairn --tag app=shop
  cairn files backup /dev/vdb --storage file:///var/backups/cairn --source node-1:vdb`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			tagMap, err := parseTags(tags)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openFiles(ctx, &repo, env, true)
			if err != nil {
				return err
			}
			bar := newProgressLine(env.Stderr)
			snap, err := st.Backup(ctx, args[0], files.BackupOptions{Source: source, Tags: tagMap, NoParent: readAll,
				CairnVersion: buildinfo.Get().Version, EstimateTotal: bar.tty, Progress: func(p files.Progress) {
					bar.update("backing up: %d files, %s read, %s added  %s", p.Files, humanize.Bytes(p.ReadBytes), humanize.Bytes(p.AddedBytes), rateAndETA(p))
				}})
			bar.done()
			if err != nil {
				return err
			}
			if resultFile != "" {
				sum := snap.Summary
				if err := mover.WriteResult(resultFile, mover.Result{FileSnapshot: snap.ID, Files: sum.Files, Bytes: sum.Bytes,
					AddedBytes: sum.AddedBytes, Seconds: sum.DurationSeconds, Problems: sum.Errors}); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if ok, err := printStructured(out, output, snap); ok {
				return err
			}
			sum := snap.Summary
			fmt.Fprintf(out, "snapshot %s of %s\n", snap.ID, snap.Source)
			fmt.Fprintf(out, "  %d files (%d unchanged), %d directories, %s; read %s, added %s in %d new blobs; %.1fs\n",
				sum.Files, sum.UnchangedFiles, sum.Dirs, humanize.Bytes(sum.Bytes), humanize.Bytes(sum.ReadBytes),
				humanize.Bytes(sum.AddedBytes), sum.NewBlobs, sum.DurationSeconds)
			if sum.Errors > 0 {
				fmt.Fprintf(out, "  %d entries could not be read (cairn files ls shows which)\n", sum.Errors)
			}
			return nil
		},
	}
	repo.register(cmd, true)
	cmd.Flags().StringVar(&source, "source", "", "name of what is backed up; the newest snapshot of the same source is the parent (default: HOSTNAME:ABSOLUTE-DIR)")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "a tag key=value to record; repeat for more")
	cmd.Flags().BoolVar(&readAll, "read-all", false, "read every file, even those the parent snapshot shows unchanged")
	addResultFileFlag(cmd, &resultFile)
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func rateAndETA(p files.Progress) string {
	secs := p.Elapsed.Seconds()
	if secs < 1 {
		return ""
	}
	rate := float64(p.ReadBytes) / secs
	s := humanize.Bytes(int64(rate)) + "/s"
	if p.TotalBytes > 0 && rate > 0 && p.Bytes < p.TotalBytes {
		eta := time.Duration(float64(p.TotalBytes-p.Bytes) / rate * float64(time.Second))
		s += ", about " + eta.Round(time.Second).String() + " left"
	}
	return s
}

func parseTags(tags []string) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tag %q: write it as key=value", t)
		}
		m[k] = v
	}
	return m, nil
}

func newFilesListCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var source, output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the file snapshots, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openFiles(ctx, &repo, env, false)
			if err != nil {
				return err
			}
			snaps, err := st.Snapshots(ctx)
			if err != nil {
				return err
			}
			if source != "" {
				snaps = slices.DeleteFunc(snaps, func(s *filerepo.Snapshot) bool { return s.Source != source })
			}
			out := cmd.OutOrStdout()
			if ok, err := printStructured(out, output, snaps); ok {
				return err
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tTIME\tSOURCE\tFILES\tSIZE\tADDED\tTAGS")
			for _, s := range snaps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.ID[:8], s.Time.Local().Format(time.DateTime), s.Source, s.Summary.Files,
					humanize.Bytes(s.Summary.Bytes), humanize.Bytes(s.Summary.AddedBytes), formatTags(s.Tags))
			}
			return tw.Flush()
		},
	}
	repo.register(cmd, false)
	cmd.Flags().StringVar(&source, "source", "", "only the snapshots of this source")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func formatTags(tags map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ",")
}

// openSnapshot opens the file store and finds the snapshot that SNAPSHOT[:PATH] names (latest of
// source, when given), or the copy of a volume RECOVERY-POINT/NAMESPACE/CLAIM[:PATH]; it returns
// the path inside it too.
func openSnapshot(ctx context.Context, repo *repoFlags, env Env, arg, source string) (*files.Store, *filerepo.Snapshot, string, error) {
	st, r, err := openFilesIn(ctx, repo, env, false)
	if err != nil {
		return nil, nil, "", err
	}
	ref, sub, _ := strings.Cut(arg, ":")
	if strings.Contains(ref, "/") {
		if source != "" {
			return nil, nil, "", fmt.Errorf("--source goes with latest, not with a volume of a recovery point (%s)", ref)
		}
		if ref, err = volumeCopyRef(ctx, r, ref); err != nil {
			return nil, nil, "", err
		}
	}
	snaps, err := st.Snapshots(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	snap, err := filerepo.FindSnapshot(snaps, ref, source)
	return st, snap, sub, err
}

// volumeCopyRef returns the file snapshot holding the copy of the volume that
// RECOVERY-POINT/NAMESPACE/CLAIM names.
func volumeCopyRef(ctx context.Context, r *archive.Repository, ref string) (string, error) {
	parts := strings.Split(ref, "/")
	if len(parts) != 3 || slices.Contains(parts, "") {
		return "", fmt.Errorf("%q: name a volume's copy as RECOVERY-POINT/NAMESPACE/CLAIM, or a file snapshot by its ID", ref)
	}
	return files.VolumeCopy(ctx, r, parts[0], parts[1], parts[2])
}

func newFilesLsCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var source, output string
	var recursive bool
	cmd := &cobra.Command{
		Use:   "ls SNAPSHOT[:PATH] | RECOVERY-POINT/NAMESPACE/CLAIM[:PATH]",
		Short: "List the files of a snapshot (SNAPSHOT is an ID, a unique prefix of one, or latest)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, snap, sub, err := openSnapshot(ctx, &repo, env, args[0], source)
			if err != nil {
				return err
			}
			entries, err := st.List(ctx, snap, sub, recursive)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if ok, err := printStructured(out, output, entries); ok {
				return err
			}
			tw := newTable(out)
			for _, e := range entries {
				n := e.Node
				owner := n.User
				if owner == "" {
					owner = fmt.Sprint(n.UID)
				}
				name := e.Path
				if n.Type == filerepo.TypeSymlink {
					name += " -> " + n.Target
				}
				if n.Error != "" {
					name += "  (error: " + n.Error + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", modeString(n), owner, n.Size, time.Unix(0, n.MTime).Local().Format(time.DateTime), name)
			}
			return tw.Flush()
		},
	}
	repo.register(cmd, false)
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "list sub-directories' contents too")
	cmd.Flags().StringVar(&source, "source", "", "with latest: the newest snapshot of this source")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func modeString(n filerepo.Node) string {
	t := map[string]byte{filerepo.TypeDir: 'd', filerepo.TypeSymlink: 'l', filerepo.TypeFifo: 'p', filerepo.TypeCharDev: 'c',
		filerepo.TypeBlockDev: 'b', filerepo.TypeSocket: 's'}[n.Type]
	if t == 0 {
		t = '-'
	}
	b := []byte{t}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if n.Mode&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

func newFilesRestoreCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var source, output, resultFile string
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT[:PATH] | RECOVERY-POINT/NAMESPACE/CLAIM[:PATH] DIR|BLOCK-DEVICE",
		Short: "Restore a snapshot, or a file or directory of it, into a new or empty directory (a block device's snapshot also onto a device as large)",
		Example: `  cairn files restore latest /tmp/restored --storage file:///var/backups/cairn --source node-1:/var/lib/data
  cairn files restore 3fa2c1d0:etc/app.conf /tmp/restored --storage file:///var/backups/cairn
  cairn files restore nightly-1/shop/data:orders/2026.db /tmp/restored --storage file:///var/backups/cairn
  cairn files restore nightly-1/shop/disk /dev/vdc --storage file:///var/backups/cairn`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, snap, sub, err := openSnapshot(ctx, &repo, env, args[0], source)
			if err != nil {
				return err
			}
			bar := newProgressLine(env.Stderr)
			sum, err := st.Restore(ctx, snap, sub, args[1], files.RestoreOptions{Progress: func(p files.Progress) {
				bar.update("restoring: %d files, %s of %s written  %s", p.Files, humanize.Bytes(p.Bytes), humanize.Bytes(p.TotalBytes), rateAndETA(p))
			}})
			bar.done()
			if err != nil {
				return err
			}
			if resultFile != "" {
				if err := mover.WriteResult(resultFile, mover.Result{FileSnapshot: snap.ID, Files: sum.Files, Bytes: sum.Bytes,
					Seconds: sum.Duration.Seconds(), Problems: int64(len(sum.Problems))}); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if ok, err := printStructured(out, output, sum); ok {
				if err == nil && len(sum.Problems) > 0 {
					err = fmt.Errorf("%d entries were not restored whole", len(sum.Problems))
				}
				return err
			}
			fmt.Fprintf(out, "restored snapshot %s into %s: %d files, %d directories, %d symlinks, %s in %.1fs\n", snap.ID[:8], args[1],
				sum.Files, sum.Dirs, sum.Links, humanize.Bytes(sum.Bytes), sum.Duration.Seconds())
			if len(sum.Problems) > 0 {
				for _, p := range sum.Problems {
					fmt.Fprintf(out, "  - %s\n", p)
				}
				return fmt.Errorf("%d entries were not restored whole", len(sum.Problems))
			}
			return nil
		},
	}
	repo.register(cmd, false)
	cmd.Flags().StringVar(&source, "source", "", "with latest: the newest snapshot of this source")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	addResultFileFlag(cmd, &resultFile)
	return cmd
}

// addResultFileFlag adds the hidden flag through which a data mover pod reports its result.
func addResultFileFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "result-file", "", "write a one-line JSON result here (the data mover's termination message)")
	_ = cmd.Flags().MarkHidden("result-file")
}

func newFilesForgetCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	cmd := &cobra.Command{
		Use:   "forget SNAPSHOT...",
		Short: "Delete snapshots' records; cairn files gc then frees the data no snapshot uses",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := openFiles(ctx, &repo, env, false)
			if err != nil {
				return err
			}
			snaps, err := st.Snapshots(ctx)
			if err != nil {
				return err
			}
			var ids []string
			for _, ref := range args {
				s, err := filerepo.FindSnapshot(snaps, ref, "")
				if err != nil {
					return err
				}
				ids = append(ids, s.ID)
			}
			for _, id := range ids {
				if err := st.Forget(ctx, id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "forgot snapshot %s\n", id)
			}
			return nil
		},
	}
	repo.register(cmd, false)
	return cmd
}

func newFilesGCCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var grace time.Duration
	var repackBelow int
	var output string
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Free the data no snapshot uses, in two phases a grace period apart, safely beside running backups",
		Long: `Collects garbage in two phases, as restic and kopia do: a run marks what no snapshot uses;
a later run, once the grace period has passed and every backup that was running at the mark has
finished, deletes it and rewrites packs that are mostly unused. Run it regularly (after forget).
With --grace-period 0 and nothing else running, one run does both.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace < 0 {
				return fmt.Errorf("--grace-period %s: give a duration of 0 or more, e.g. 1h", grace)
			}
			if repackBelow < 1 || repackBelow > 100 {
				return fmt.Errorf("--repack-below %d: give a percentage between 1 and 100", repackBelow)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openFiles(ctx, &repo, env, false)
			if err != nil {
				return err
			}
			rep, err := st.GC(ctx, files.GCOptions{GracePeriod: grace, RepackBelow: float64(repackBelow) / 100})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if ok, err := printStructured(out, output, rep); ok {
				return err
			}
			fmt.Fprintf(out, "%d snapshots in use\n", rep.Snapshots)
			fmt.Fprintf(out, "deleted: %d packs (%d rewritten into %d), %d blobs, %s freed\n", rep.DeletedPacks, rep.RepackedPacks, rep.NewPacks,
				rep.DeletedBlobs, humanize.Bytes(rep.FreedBytes))
			fmt.Fprintf(out, "marked unused: %d blobs and %d packs no index lists, %s\n", rep.MarkedBlobs, rep.MarkedPacks, humanize.Bytes(rep.MarkedBytes))
			for _, w := range rep.Waiting {
				fmt.Fprintf(out, "  %s\n", w)
			}
			if rep.StaleLocks > 0 {
				fmt.Fprintf(out, "removed %d stale locks\n", rep.StaleLocks)
			}
			return nil
		},
	}
	repo.register(cmd, false)
	cmd.Flags().DurationVar(&grace, "grace-period", time.Hour, "least time between marking data unused and deleting it")
	cmd.Flags().IntVar(&repackBelow, "repack-below", 50, "rewrite packs with less than this percentage of their bytes in use")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func newFilesVerifyCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var rd readDataFlags
	var output string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the file store: every snapshot, tree, index file and pack header; with --read-data every blob",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := rd.options()
			if err != nil {
				return err
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openFiles(ctx, &repo, env, false)
			if err != nil {
				return err
			}
			return verifyFiles(ctx, st, opts, output, cmd.OutOrStdout())
		},
	}
	repo.register(cmd, false)
	rd.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

// readDataFlags choose how much data a verification reads.
type readDataFlags struct {
	all    bool
	subset string
}

func (f *readDataFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.all, "read-data", false, "read and check every blob of file data")
	cmd.Flags().StringVar(&f.subset, "read-data-subset", "", "read and check this share of the file store's packs, chosen at random, e.g. 5%")
}

func (f *readDataFlags) options() (files.VerifyOptions, error) {
	opts := files.VerifyOptions{ReadData: f.all}
	if f.subset == "" {
		return opts, nil
	}
	if f.all {
		return opts, fmt.Errorf("give --read-data or --read-data-subset, not both")
	}
	pct, err := strconv.ParseFloat(strings.TrimSuffix(f.subset, "%"), 64)
	if err != nil || !strings.HasSuffix(f.subset, "%") || pct <= 0 || pct > 100 {
		return opts, fmt.Errorf("--read-data-subset %q: give a percentage above 0 and up to 100, e.g. 5%%", f.subset)
	}
	opts.ReadSubset = pct / 100
	return opts, nil
}

// verifyFiles verifies the file store and prints what it found; damage is an error.
func verifyFiles(ctx context.Context, st *files.Store, opts files.VerifyOptions, output string, out io.Writer) error {
	rep, err := st.Verify(ctx, opts)
	if err != nil {
		return err
	}
	if ok, err := printStructured(out, output, rep); ok {
		if err == nil && len(rep.Problems) > 0 {
			err = fmt.Errorf("the file store failed verification: %d problems", len(rep.Problems))
		}
		return err
	}
	if len(rep.Problems) == 0 {
		fmt.Fprintf(out, "file store: intact (%d snapshots, %d trees, %d index files, %d packs, %d blobs; %d packs read whole)\n",
			rep.Snapshots, rep.Trees, rep.IndexFiles, rep.Packs, rep.Blobs, rep.PacksRead)
	} else {
		fmt.Fprintf(out, "file store: DAMAGED\n")
		for _, p := range rep.Problems {
			fmt.Fprintf(out, "  - %s\n", p)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("the file store failed verification: %d problems", len(rep.Problems))
	}
	return nil
}
