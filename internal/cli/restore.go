package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/buildinfo"
	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/restore/modifier"
	"github.com/cairnbackup/cairn/internal/usecase"
)

func newRestoreCommand(target *kube.Target, env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "restore", Short: "Restore backups into a cluster, and inspect past restores"}
	cmd.AddCommand(newRestoreCreateCommand(target, env), newRestoreDescribeCommand(env), newRestoreListCommand(env))
	return cmd
}

func newRestoreCreateCommand(target *kube.Target, env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var sf scopeFlags
	var vf vaultRestoreFlags
	var (
		from, output, policy, modifiersFile string
		volumes, volumeSource               string
		mf                                  moverFlags
		hookRefs                            []string
		volumeTimeout                       time.Duration
		names, nsMapping, scMapping, order  []string
		dryRun, keepIPs, keepPorts, failed  bool
		skipPreflight                       bool
		parallelism                         int
	)
	cmd := &cobra.Command{
		Use:   "create [NAME] --from BACKUP|RECOVERY-POINT",
		Short: "Restore a backup into the cluster (the same or another one), from a repository or through the vault",
		Long: `Restore a backup into a cluster. With --storage the backup NAME restores from that repository into
the --kubeconfig cluster, here. Without --storage the vault restores the recovery point --from: it
queues a restore job that the agent of the target cluster (--target-cluster, default the recovery
point's own) runs; --wait follows it to its end. Both take the same filter, mapping, conflict-policy,
volumes, hook, modifier and dry-run flags.

Both run pre-flight checks first: who restores into which cluster, that the repository opens, that
the backup can be restored, that whoever restores (here the --kubeconfig user, through the vault the
agent) may do all the restore will do (access reviews), and a dry run that records nothing, which
fails the checks when nothing would be restored (every object exists and the conflict policy is
skip). The first check that fails stops the restore. With --storage the checks print on stderr,
before the result, and --skip-preflight restores without them.`,
		Example: `  cairn restore create r1 --from nightly --storage file:///var/backups/cairn
  cairn restore create clone --from nightly --storage file:///var/backups/cairn \
      --include-namespaces shop --namespace-mapping shop=shop-dev --dry-run
  cairn restore create --from shop-nightly-20250102023000 --target-cluster staging --wait   # through the vault`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if vf.throughVault(cmd) {
				return vf.run(cmd, env, args, &sf)
			}
			if err := vf.checkRepositoryMode(cmd); err != nil {
				return err
			}
			if len(args) == 0 {
				return fmt.Errorf("name the restore: cairn restore create NAME --from BACKUP --storage URL")
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			if from == "" {
				return fmt.Errorf("name the backup to restore with --from (see `cairn backup list`)")
			}
			if err := checkChoice("conflict-policy", policy, restore.ConflictPolicies); err != nil {
				return err
			}
			if err := checkChoice("volumes", volumes, restore.VolumeModes); err != nil {
				return err
			}
			if err := checkChoice("volume-source", volumeSource, restore.VolumeSources); err != nil {
				return err
			}
			var moverOpts *usecase.MoverOptions
			if mf.image != "" {
				o, err := mf.options()
				if err != nil {
					return err
				}
				moverOpts = &o
			}
			sc, err := sf.scope()
			if err != nil {
				return err
			}
			nsMap, err := restore.ParseMapping("namespace", nsMapping)
			if err != nil {
				return err
			}
			scMap, err := restore.ParseMapping("storage class", scMapping)
			if err != nil {
				return err
			}
			var rules *modifier.Rules
			if modifiersFile != "" {
				data, err := os.ReadFile(modifiersFile)
				if err != nil {
					return fmt.Errorf("read --modifiers: %w", err)
				}
				if rules, err = modifier.Parse(data); err != nil {
					return fmt.Errorf("--modifiers %s: %w", modifiersFile, err)
				}
			}
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			bar := newProgressLine(env.Stderr)
			runner := &usecase.Runner{Config: cfg}
			got, err := runner.Restore(cmd.Context(), usecase.RestoreRequest{
				Repository: repo.ref(env.Stderr), Hooks: hookRefs, SkipPreflight: skipPreflight, Wording: restoreWording(cfg, &repo), Mover: moverOpts,
				Restore: restore.Options{
					Name: args[0], Backup: from, Scope: sc, Names: names, NamespaceMapping: nsMap, StorageClassMapping: scMap,
					ConflictPolicy: policy, Modifiers: rules, DryRun: dryRun, PreserveServiceIPs: keepIPs, PreserveNodePorts: keepPorts,
					ResourceOrder: order, AllowFailedBackup: failed, Parallelism: parallelism, Volumes: volumes, VolumeTimeout: volumeTimeout,
					VolumeSource: volumeSource,
				},
				Progress: func(p usecase.Progress) {
					switch p.Stage {
					case usecase.StageConflicts:
						bar.update("checking conflicts (dry run): %d items  %s", p.Items, p.Resource)
					case usecase.StageRestore:
						bar.update("restoring: %d items  %s", p.Items, p.Resource)
					default:
						bar.update("%s", p.Stage)
					}
				},
			})
			bar.done()
			printChecks(env.Stderr, "", got.Checks)
			if err != nil {
				return err
			}
			res := got.Result
			if ok, err := printStructured(cmd.OutOrStdout(), output, res); ok {
				return err
			}
			printRestore(cmd.OutOrStdout(), res, dryRun)
			if res.Phase != restore.PhaseCompleted {
				return fmt.Errorf("restore %q: %s, %d item(s) failed", res.Name, res.Phase, res.Counts.Failed)
			}
			return nil
		},
	}
	repo.register(cmd, false)
	vf.register(cmd)
	sf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "the backup (with --storage) or the vault's recovery point to restore (required)")
	fl.StringSliceVar(&names, "names", nil, "restore only objects with these names (globs allowed): item-level restore")
	fl.StringSliceVar(&nsMapping, "namespace-mapping", nil, "restore namespace old into new: old=new,... (targets are created)")
	fl.StringSliceVar(&scMapping, "storage-class-mapping", nil, "replace storage classes: old=new,...")
	fl.StringVar(&policy, "conflict-policy", restore.ConflictSkip, "for objects that exist: skip, patch (to the backed-up state) or recreate (delete and create)")
	fl.StringVar(&modifiersFile, "modifiers", "", "resource modifier rules (YAML, Velero's format) applied before objects are created")
	fl.BoolVar(&dryRun, "dry-run", false, "report per object what would happen (with diffs) and change nothing")
	fl.BoolVar(&skipPreflight, "skip-preflight", false, "with --storage: restore without the pre-flight checks (storage, recovery point, permissions, conflicts)")
	fl.BoolVar(&keepIPs, "preserve-service-ips", false, "keep Services' cluster IPs instead of letting the target allocate them")
	fl.BoolVar(&keepPorts, "preserve-node-ports", false, "keep Services' node ports")
	fl.StringSliceVar(&order, "resource-order", nil, "restore these resource types first, in this order (default order follows)")
	fl.BoolVar(&failed, "allow-failed-backup", false, "restore from a backup whose phase is Failed")
	fl.IntVar(&parallelism, "parallelism", restore.DefaultParallelism, "objects created at once")
	fl.StringArrayVar(&hookRefs, "restore-hook", nil, "run the hooks of RestoreHook NAMESPACE/NAME in the restored pods (repeat for more)")
	fl.StringVar(&volumes, "volumes", restore.VolumesData, "volumes of backed-up claims: data (new volumes from their snapshots), empty (new empty volumes) or skip (no claims)")
	fl.StringVar(&volumeSource, "volume-source", restore.SourceAuto, "with --volumes=data, where data comes from: auto (the snapshot if the target reaches its storage, else the copy), snapshot or copy")
	mf.register(cmd)
	fl.DurationVar(&volumeTimeout, "volume-timeout", 10*time.Minute, "how long to wait for each restored snapshot to be ready and each claim to be bound")
	fl.StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

// checkCLI names the first pre-flight check of a restore from a repository, which says who
// restores into which cluster (an agent's restore names its own "agent").
const checkCLI = "cli"

// restoreWording words the pre-flight checks of a restore from a repository.
func restoreWording(cfg *rest.Config, repo *repoFlags) usecase.Wording {
	return usecase.Wording{
		RunnerCheck: checkCLI,
		Runner: func(kubernetesVersion string) string {
			return fmt.Sprintf("cairn %s is running on this machine against the cluster at %s (Kubernetes %s)",
				buildinfo.Get().Version, cfg.Host, kubernetesVersion)
		},
		Credential: repo.unlockedWith(),
		Subject:    "the cluster user",
		Grant:      "ask the cluster's administrator for it, or restore with --kubeconfig/--context of a user who has it",
	}
}

// printChecks prints a restore's pre-flight checks under a "checks:" heading indented by indent,
// one a line: how `cairn restore create` and `cairn job show` show them.
func printChecks(out io.Writer, indent string, checks []usecase.Check) {
	if len(checks) == 0 {
		return
	}
	fmt.Fprintf(out, "%schecks:\n", indent)
	for _, c := range checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(out, "%s  %s %-15s %s\n", indent, mark, c.Name, c.Message)
	}
}

func printRestore(out io.Writer, res *restore.Result, showDiffs bool) {
	verb := "restore"
	if res.DryRun {
		verb = "restore (dry run: nothing was changed)"
	}
	c := res.Counts
	fmt.Fprintf(out, "%s %q from backup %q: %s\n", verb, res.Name, res.Backup, res.Phase)
	fmt.Fprintf(out, "  created %d, patched %d, recreated %d, unchanged %d, skipped %d, failed %d  (%s)\n",
		c.Created, c.Patched, c.Recreated, c.Unchanged, c.Skipped, c.Failed, res.CompletedAt.Sub(res.StartedAt).Round(time.Millisecond))
	if c.Converted > 0 {
		fmt.Fprintf(out, "  %d item(s) converted to a version the target serves (below)\n", c.Converted)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	items := append([]restore.ItemResult(nil), res.Items...)
	sort.SliceStable(items, func(i, j int) bool { return actionRank(items[i].Action) < actionRank(items[j].Action) })
	t := newTable(out)
	fmt.Fprintln(t, "ACTION\tRESOURCE\tNAMESPACE\tNAME\tREASON")
	for _, it := range items {
		if it.Action == restore.ActionCreate && it.Converted == "" && !res.DryRun && len(items) > 50 {
			continue // a long list of plain creates hides what matters; -o json has them all
		}
		ns := it.Namespace
		if it.TargetNamespace != "" {
			ns += "→" + it.TargetNamespace
		}
		reason := it.Reason
		if it.Converted != "" {
			reason = strings.TrimPrefix(reason+"; converted "+it.Converted, "; ")
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", it.Action, it.Resource, ns, it.Name, reason)
	}
	_ = t.Flush()
	printVolumeResults(out, res.Volumes)
	printHookExecutions(out, res.Hooks)
	if !showDiffs {
		return
	}
	for _, it := range items {
		if it.Diff != "" {
			fmt.Fprintf(out, "\n--- %s %s %s/%s\n%s", it.Action, it.Resource, it.Namespace, it.Name, indent(it.Diff))
		}
	}
}

func actionRank(a string) int {
	return strings.Index("fail patch recreate create unchanged skip", a)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

func newRestoreDescribeCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var output string
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show what a restore did, item by item",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			r, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			res, err := restore.ReadResult(cmd.Context(), r, args[0])
			if err != nil {
				return err
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, res); ok {
				return err
			}
			printRestore(cmd.OutOrStdout(), res, true)
			return nil
		},
	}
	repo.register(cmd, false)
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func newRestoreListCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the restores recorded in a repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			names, err := r.RestoreNames(cmd.Context())
			if err != nil {
				return err
			}
			t := newTable(cmd.OutOrStdout())
			fmt.Fprintln(t, "NAME\tBACKUP\tPHASE\tDRY RUN\tCREATED\tFAILED\tSTARTED")
			for _, n := range names {
				var res restore.Result
				if err := r.GetRestoreResult(cmd.Context(), n, &res); err != nil {
					fmt.Fprintf(t, "%s\t\t%s\t\t\t\t\n", n, "Unreadable: "+err.Error())
					continue
				}
				fmt.Fprintf(t, "%s\t%s\t%s\t%v\t%d\t%d\t%s\n", n, res.Backup, res.Phase, res.DryRun, res.Counts.Created, res.Counts.Failed, res.StartedAt.Format(time.RFC3339))
			}
			return t.Flush()
		},
	}
	repo.register(cmd, false)
	return cmd
}
