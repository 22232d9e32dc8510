package cli

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/restore/modifier"
)

// vaultRestoreFlags are the flags of restore create that only a restore through the vault takes
// (restore create without --storage): the vault queues a restore job that the target cluster's
// agent runs.
type vaultRestoreFlags struct {
	targetCluster string
	wait          bool
	interval      time.Duration
}

func (f *vaultRestoreFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.targetCluster, "target-cluster", "", "through the vault: the registered cluster to restore into (default: the recovery point's own)")
	fl.BoolVar(&f.wait, "wait", false, "through the vault: follow the restore job to its end (progress and log on stderr); exit non-zero unless it succeeds")
	registerPollInterval(cmd, &f.interval)
	// --storage is optional: without it the restore goes through the vault. (Called after the
	// repository flags are registered.)
	if storage := fl.Lookup("storage"); storage != nil {
		delete(storage.Annotations, cobra.BashCompOneRequiredFlag)
		storage.Usage = "the repository to restore backup NAME from, e.g. file:///var/backups/cairn (without it the vault restores the recovery point --from)"
	}
}

// throughVault reports whether restore create restores a recovery point through the vault: it
// does when --storage is not given.
func (f *vaultRestoreFlags) throughVault(cmd *cobra.Command) bool {
	return !cmd.Flags().Changed("storage")
}

// repositoryOnlyRestoreFlags are the flags of a restore from a repository (--storage) that a
// restore through the vault does not take, with why.
var repositoryOnlyRestoreFlags = []struct{ name, why string }{
	{"passphrase-file", "the agent reads the passphrase from its own secret"},
	{"key-file", "the agent reads the passphrase from its own secret"},
	{"kubeconfig", "the target cluster's agent restores; name the cluster with --target-cluster"},
	{"context", "the target cluster's agent restores; name the cluster with --target-cluster"},
	{"preserve-service-ips", "the agent's restore does not take it"},
	{"preserve-node-ports", "the agent's restore does not take it"},
	{"resource-order", "the agent's restore does not take it"},
	{"allow-failed-backup", "the agent's restore does not take it"},
	{"parallelism", "the agent's restore does not take it"},
	{"volume-timeout", "the agent's restore does not take it"},
	{"skip-preflight", "the agent always runs the pre-flight checks"},
	{"mover-image", "the agent runs its own data mover (cairn agent install --mover-image)"},
	{"mover-namespace", "the agent runs its data mover in its own namespace"},
	{"mover-host-network", "the agent runs its own data mover"},
	{"copy-parallelism", "the agent runs its own data mover"},
	{"copy-timeout", "the agent runs its own data mover"},
}

// checkRepositoryMode refuses the vault's flags on a restore from a repository.
func (f *vaultRestoreFlags) checkRepositoryMode(cmd *cobra.Command) error {
	for _, name := range []string{"target-cluster", "wait"} {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s is for a restore through the vault; with --storage the restore runs here, into the --kubeconfig cluster: "+
				"drop --%s, or drop --storage to restore a recovery point through the vault", name, name)
		}
	}
	return nil
}

// run restores a recovery point through the vault.
func (f *vaultRestoreFlags) run(cmd *cobra.Command, env Env, args []string, sf *scopeFlags) error {
	fl := cmd.Flags()
	output, _ := fl.GetString("output")
	if err := checkOutput(output); err != nil {
		return err
	}
	from, _ := fl.GetString("from")
	if len(args) > 0 {
		return fmt.Errorf("NAME %q: a restore through the vault is named by the vault, so drop NAME; "+
			"or give --storage URL to restore backup %q from a repository", args[0], from)
	}
	if from == "" {
		return fmt.Errorf("--from is required: the recovery point to restore (cairn recovery-point list)")
	}
	for _, rf := range repositoryOnlyRestoreFlags {
		if fl.Changed(rf.name) {
			return fmt.Errorf("--%s is for a restore from a repository (--storage); through the vault %s", rf.name, rf.why)
		}
	}
	if err := checkInterval(f.interval); err != nil {
		return err
	}
	opts, err := vaultRestoreOptions(fl, sf)
	if err != nil {
		return err
	}
	c, err := vaultClient(env)
	if err != nil {
		return fmt.Errorf("%w; or give --storage URL to restore backup %q from a repository", err, from)
	}
	j, err := c.Restore(cmd.Context(), vaultv1.RestoreRequest{RecoveryPoint: from, TargetCluster: f.targetCluster, Options: opts})
	if err != nil {
		return err
	}
	if f.wait {
		return waitAndReport(cmd, c, j, output, f.interval, env)
	}
	if ok, err := printStructured(cmd.OutOrStdout(), output, j); ok {
		return err
	}
	what := "restore"
	if opts.DryRun {
		what = "dry-run restore"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "queued %s job %d: recovery point %s into cluster %s; follow it: cairn job logs %d --follow\n",
		what, j.ID, from, j.Cluster, j.ID)
	return nil
}

// vaultRestoreOptions checks restore create's filter, mapping and policy flags and turns them
// into the agent's restore options.
func vaultRestoreOptions(fl *pflag.FlagSet, sf *scopeFlags) (vaultv1.RestoreOptions, error) {
	var o vaultv1.RestoreOptions
	if _, err := sf.scope(); err != nil {
		return o, err
	}
	o.IncludeNamespaces, o.ExcludeNamespaces = sf.includeNamespaces, sf.excludeNamespaces
	o.IncludeResources, o.ExcludeResources = sf.includeResources, sf.excludeResources
	o.LabelSelectors, o.ClusterResources = sf.selectors, sf.clusterResources
	o.Names, _ = fl.GetStringSlice("names")
	for _, p := range o.Names {
		if _, err := path.Match(p, ""); err != nil {
			return o, fmt.Errorf("--names %q: %w", p, err)
		}
	}
	nsMapping, _ := fl.GetStringSlice("namespace-mapping")
	scMapping, _ := fl.GetStringSlice("storage-class-mapping")
	var err error
	if o.NamespaceMapping, err = restore.ParseMapping("namespace", nsMapping); err != nil {
		return o, fmt.Errorf("--namespace-mapping: %w", err)
	}
	if o.StorageClassMapping, err = restore.ParseMapping("storage class", scMapping); err != nil {
		return o, fmt.Errorf("--storage-class-mapping: %w", err)
	}
	if len(o.NamespaceMapping) == 0 {
		o.NamespaceMapping = nil
	}
	if len(o.StorageClassMapping) == 0 {
		o.StorageClassMapping = nil
	}
	o.ConflictPolicy, _ = fl.GetString("conflict-policy")
	if err := checkChoice("conflict-policy", o.ConflictPolicy, restore.ConflictPolicies); err != nil {
		return o, err
	}
	o.Volumes, _ = fl.GetString("volumes")
	if err := checkChoice("volumes", o.Volumes, restore.VolumeModes); err != nil {
		return o, err
	}
	if fl.Changed("volume-source") { // an agent that predates the field gets no value it would not know
		o.VolumeSource, _ = fl.GetString("volume-source")
		if err := checkChoice("volume-source", o.VolumeSource, restore.VolumeSources); err != nil {
			return o, err
		}
	}
	o.RestoreHooks, _ = fl.GetStringArray("restore-hook")
	for _, ref := range o.RestoreHooks {
		if _, _, err := v1alpha1.ParseHookRef(ref); err != nil {
			return o, fmt.Errorf("--restore-hook: %w", err)
		}
	}
	if file, _ := fl.GetString("modifiers"); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return o, fmt.Errorf("read --modifiers: %w", err)
		}
		if _, err := modifier.Parse(data); err != nil {
			return o, fmt.Errorf("--modifiers %s: %w", file, err)
		}
		o.Modifiers = string(data)
	}
	o.DryRun, _ = fl.GetBool("dry-run")
	return o, nil
}

// printRestoreSummary writes a restore job's outcome: the counts, then the items that were not
// plainly created, then (in a dry run) their diffs.
func printRestoreSummary(out io.Writer, s *vaultv1.RestoreSummary) {
	verb := "restore"
	if s.DryRun {
		verb = "restore (dry run: nothing was changed)"
	}
	fmt.Fprintf(out, "  %s %q: %s\n", verb, s.Name, s.Phase)
	fmt.Fprintf(out, "    created %d, patched %d, recreated %d, unchanged %d, skipped %d, failed %d; %d volumes\n",
		s.Created, s.Patched, s.Recreated, s.Unchanged, s.Skipped, s.Failed, s.Volumes)
	if len(s.Items) == 0 {
		return
	}
	items := append([]vaultv1.RestoreItem(nil), s.Items...)
	sort.SliceStable(items, func(i, j int) bool { return actionRank(items[i].Action) < actionRank(items[j].Action) })
	t := newTable(out)
	fmt.Fprintln(t, "    ACTION\tRESOURCE\tNAMESPACE\tNAME\tREASON")
	for _, it := range items {
		fmt.Fprintf(t, "    %s\t%s\t%s\t%s\t%s\n", it.Action, it.Resource, it.Namespace, it.Name, it.Reason)
	}
	_ = t.Flush()
	total := s.Created + s.Patched + s.Recreated + s.Unchanged + s.Skipped + s.Failed
	if len(s.Items) < total && len(s.Items) >= vaultv1.MaxRestoreItems {
		fmt.Fprintf(out, "    (the first %d of %d items)\n", len(s.Items), total)
	}
	if !s.DryRun {
		return
	}
	for _, it := range items {
		if it.Diff != "" {
			fmt.Fprintf(out, "\n--- %s %s %s/%s\n%s", it.Action, it.Resource, it.Namespace, it.Name, indent(it.Diff))
		}
	}
}
