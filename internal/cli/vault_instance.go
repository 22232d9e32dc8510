package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/secretref"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newInstanceCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "instance",
		Short: "Backup instances in the vault: a cluster, what to back up, a policy and a storage location",
	}
	cmd.AddCommand(newInstanceCreateCommand(env), newInstanceListCommand(env), newInstanceShowCommand(env),
		newInstanceBackupNowCommand(env), newInstanceValidateCommand(env), newInstanceReconcileCommand(env), newInstanceTestRestoreCommand(env), newInstanceStopCommand(env), newInstanceResumeCommand(env), newInstanceDeleteCommand(env))
	return cmd
}

func newInstanceCreateCommand(env Env) *cobra.Command {
	var spec vaultv1.InstanceSpec
	var sf scopeFlags
	cmd := vaultVerb[vaultv1.Instance]{
		check: func(args []string) error {
			spec.Name = args[0]
			if err := checkInstanceSpec(spec); err != nil {
				return err
			}
			if _, err := sf.scope(); err != nil {
				return err
			}
			spec.Backup.IncludeNamespaces, spec.Backup.ExcludeNamespaces = sf.includeNamespaces, sf.excludeNamespaces
			spec.Backup.IncludeResources, spec.Backup.ExcludeResources = sf.includeResources, sf.excludeResources
			spec.Backup.LabelSelectors, spec.Backup.ClusterResources = sf.selectors, sf.clusterResources
			for _, ref := range spec.Backup.BackupHooks {
				if _, _, err := v1alpha1.ParseHookRef(ref); err != nil {
					return fmt.Errorf("--backup-hook: %w", err)
				}
			}
			return nil
		},
		call: func(ctx context.Context, c *client.Client, _ []string) (vaultv1.Instance, error) {
			return c.CreateInstance(ctx, spec)
		},
		text: func(out io.Writer, inst vaultv1.Instance) error {
			_, err := fmt.Fprintf(out, "created instance %q: cluster %s, policy %s, next backup %s\n",
				inst.Name, inst.Cluster, inst.Policy, formatTime(inst.NextBackup))
			return err
		},
	}.build(env, &cobra.Command{
		Use:   "create NAME --cluster C --policy P --storage URL --passphrase-secret NAME",
		Short: "Protect a cluster: back it up on a policy's schedule into a storage location",
		Long: `Create a backup instance. The cluster's agent backs it up on the policy's schedule into the storage
location and keeps its recovery points as the policy's retention says. The vault holds no storage
credential: the agent reads it from its environment, and the repository passphrase from its secret
named by --passphrase-secret (the file of that name in the agent's secrets directory, or the
environment variable CAIRN_SECRET_<NAME>). The filters mean what they mean for cairn backup create.`,
		Example: `  cairn instance create shop-nightly --cluster prod --policy nightly \
      --storage s3://backups/prod?region=eu-west-1 --passphrase-secret prod-repo \
      --include-namespaces 'shop,team-*' --exclude-resources events --backup-hook shop/db-freeze`,
		Args: cobra.ExactArgs(1),
	})
	fl := cmd.Flags()
	fl.StringVar(&spec.Cluster, "cluster", "", "the registered cluster to back up (required; cairn cluster list)")
	fl.StringVar(&spec.Policy, "policy", "", "the policy: schedule and retention (required; cairn policy list)")
	fl.StringVar(&spec.Storage.URL, "storage", "", "where the recovery points live, e.g. s3://BUCKET/prefix or file:///var/backups/cairn (required)")
	fl.StringVar(&spec.Storage.PassphraseSecret, "passphrase-secret", "", "name of the agent's secret holding the repository passphrase (required)")
	sf.register(cmd)
	fl.BoolVar(&spec.Backup.SnapshotVolumes, "snapshot-volumes", true, "snapshot the persistent volumes of the claims in scope (CSI volume snapshots)")
	fl.StringVar(&spec.Backup.SnapshotClass, "snapshot-class", "", "VolumeSnapshotClass to use (default: each CSI driver's default class)")
	fl.StringVar(&spec.Backup.VolumeData, "volume-data", "", "what backups keep of each volume: snapshot (default), copy (its files in the backup storage) or snapshot+copy")
	fl.StringArrayVar(&spec.Backup.BackupHooks, "backup-hook", nil, "run the hooks of BackupHook NAMESPACE/NAME around each backup (repeat for more)")
	fl.StringVar(&spec.LockFor, "lock-for", "", "lock this instance's recovery points in storage for this long when longer than its policy's lock, e.g. 90d")
	fl.StringVar(&spec.RPO, "rpo", "", "recovery point objective of this instance, e.g. 26h (default: the policy's)")
	return cmd
}

// checkInstanceSpec checks the required flags of instance create and the storage URL.
func checkInstanceSpec(s vaultv1.InstanceSpec) error {
	for _, f := range []struct{ flag, value, what string }{
		{"cluster", s.Cluster, "the registered cluster to back up (cairn cluster list)"},
		{"policy", s.Policy, "the policy whose schedule and retention apply (cairn policy list)"},
		{"storage", s.Storage.URL, "where the recovery points live, e.g. s3://BUCKET/prefix"},
		{"passphrase-secret", s.Storage.PassphraseSecret, "the name of the agent's secret holding the repository passphrase"},
	} {
		if f.value == "" {
			return fmt.Errorf("--%s is required: %s", f.flag, f.what)
		}
	}
	if err := blobopen.ValidateLocation(s.Storage.URL); err != nil {
		return fmt.Errorf("--storage: %w", err)
	}
	if err := secretref.Validate(s.Storage.PassphraseSecret); err != nil {
		return fmt.Errorf("--passphrase-secret %w", err)
	}
	return nil
}

func newInstanceListCommand(env Env) *cobra.Command {
	var f client.InstanceFilter
	cmd := vaultVerb[[]vaultv1.Instance]{
		call: func(ctx context.Context, c *client.Client, _ []string) ([]vaultv1.Instance, error) {
			list, _, err := collect(0, func(limit int, cursor string) (vaultv1.List[vaultv1.Instance], error) {
				g := f
				g.Limit, g.Cursor = limit, cursor
				return c.ListInstances(ctx, g)
			})
			return list, err
		},
		text: func(out io.Writer, list []vaultv1.Instance) error {
			t := newTable(out)
			fmt.Fprintln(t, "NAME\tCLUSTER\tPOLICY\tSTATE\tRPO\tNEXT BACKUP\tNAMESPACES\tSTORAGE")
			now := env.now()
			for _, in := range list {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.Cluster, in.Policy, in.State, rpoCell(in.RPOStatus, now),
					formatTime(in.NextBackup), describeNamespaces(in.Backup), in.Storage.URL)
			}
			return t.Flush()
		},
	}.build(env, &cobra.Command{Use: "list", Short: "List the backup instances", Args: cobra.NoArgs})
	cmd.Flags().StringVar(&f.Cluster, "cluster", "", "only the instances of this cluster")
	cmd.Flags().StringVar(&f.Policy, "policy", "", "only the instances on this policy")
	cmd.Flags().StringVar(&f.NameContains, "name-contains", "", "only the instances whose names contain this text (any case)")
	return cmd
}

// instanceDetail is what instance show prints: the instance and its latest recovery points.
type instanceDetail struct {
	vaultv1.Instance
	RecoveryPoints []vaultv1.RecoveryPoint `json:"recoveryPoints"`
}

func newInstanceShowCommand(env Env) *cobra.Command {
	var points int
	cmd := vaultVerb[instanceDetail]{
		check: func([]string) error {
			if points < 0 {
				return fmt.Errorf("--recovery-points %d: use 0 or more", points)
			}
			return nil
		},
		call: func(ctx context.Context, c *client.Client, args []string) (instanceDetail, error) {
			in, err := c.GetInstance(ctx, args[0])
			if err != nil {
				return instanceDetail{}, err
			}
			d := instanceDetail{Instance: in, RecoveryPoints: []vaultv1.RecoveryPoint{}}
			if points > 0 {
				rps, err := c.ListRecoveryPoints(ctx, client.RecoveryPointFilter{Instance: in.Name, Limit: points})
				if err != nil {
					return instanceDetail{}, err
				}
				d.RecoveryPoints = rps.Items
			}
			return d, nil
		},
		text: func(out io.Writer, d instanceDetail) error { return printInstance(out, d, env.now()) },
	}.build(env, &cobra.Command{
		Use:   "show NAME",
		Short: "Show an instance: what it backs up, its state, its next backup and its latest recovery points",
		Args:  cobra.ExactArgs(1),
	})
	cmd.Flags().IntVar(&points, "recovery-points", 5, "how many of the latest recovery points to show")
	return cmd
}

func printInstance(out io.Writer, d instanceDetail, now time.Time) error {
	in, b := d.Instance, d.Backup
	fmt.Fprintf(out, "instance %q\n", in.Name)
	fmt.Fprintf(out, "  cluster:         %s\n  policy:          %s\n  state:           %s\n", in.Cluster, in.Policy, in.State)
	fmt.Fprintf(out, "  storage:         %s (passphrase secret %s)\n", in.Storage.URL, in.Storage.PassphraseSecret)
	fmt.Fprintf(out, "  namespaces:      %s", describeNamespaces(b))
	if len(b.ExcludeNamespaces) > 0 {
		fmt.Fprintf(out, ", except %s", strings.Join(b.ExcludeNamespaces, ","))
	}
	fmt.Fprintln(out)
	resources := "all"
	if len(b.IncludeResources) > 0 {
		resources = strings.Join(b.IncludeResources, ",")
	}
	if len(b.ExcludeResources) > 0 {
		resources += ", except " + strings.Join(b.ExcludeResources, ",")
	}
	fmt.Fprintf(out, "  resources:       %s\n", resources)
	if len(b.LabelSelectors) > 0 {
		fmt.Fprintf(out, "  selectors:       %s (any)\n", strings.Join(b.LabelSelectors, " | "))
	}
	fmt.Fprintf(out, "  cluster-scoped:  %s\n", orDefault(b.ClusterResources, "auto"))
	volumes := "not snapshotted"
	if b.SnapshotVolumes {
		volumes = "snapshotted with class " + orDefault(b.SnapshotClass, "(each driver's default)")
		if archive.CopiesVolumeData(b.VolumeData) {
			volumes += ", " + b.VolumeData
		}
	}
	fmt.Fprintf(out, "  volumes:         %s\n", volumes)
	if len(b.BackupHooks) > 0 {
		fmt.Fprintf(out, "  backup hooks:    %s\n", strings.Join(b.BackupHooks, ", "))
	}
	fmt.Fprintf(out, "  created:         %s\n  last scheduled:  %s\n  next backup:     %s\n",
		formatTime(&in.CreatedAt), formatTime(in.LastScheduled), formatTime(in.NextBackup))
	if st := in.RPOStatus; st != nil {
		fmt.Fprintf(out, "  rpo:             %s, %s; last good backup %s\n", st.Objective, rpoCell(st, now), formatTime(st.LastGoodAt))
	}
	printValidation(out, in.Validation)
	printTestRestore(out, in.LastTestRestore, now)
	if len(d.RecoveryPoints) == 0 {
		_, err := fmt.Fprintln(out, "\nno recovery point yet")
		return err
	}
	fmt.Fprintln(out, "\nlatest recovery points:")
	return printRecoveryPoints(out, d.RecoveryPoints)
}

func describeNamespaces(b vaultv1.BackupConfig) string {
	if len(b.IncludeNamespaces) == 0 {
		return "all"
	}
	return summarize(b.IncludeNamespaces, 3)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newInstanceBackupNowCommand(env Env) *cobra.Command {
	var output, retain, volumeData string
	var wait bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "backup-now NAME",
		Short: "Back an instance up now (an on-demand recovery point); --wait follows the job to its end",
		Example: `  cairn instance backup-now shop-nightly --retain 30d --wait
  cairn instance backup-now shop-nightly -o json   # the queued job`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := checkInterval(interval); err != nil {
				return err
			}
			req := vaultv1.BackupNowRequest{VolumeData: volumeData}
			if err := checkChoice("volume-data", volumeData, vaultv1.VolumeDataModes); err != nil {
				return err
			}
			if retain != "" {
				d, err := policy.ParseDuration(retain)
				if err != nil {
					return fmt.Errorf("--retain: %w", err)
				}
				if d <= 0 {
					return fmt.Errorf("--retain %q: use a positive duration like 30d, or leave it out to keep the recovery point until it is deleted", retain)
				}
				req.Retain = d.String()
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			j, err := c.BackupNow(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if !wait {
				if ok, err := printStructured(cmd.OutOrStdout(), output, j); ok {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "queued backup job %d of instance %q", j.ID, args[0])
				if j.Spec.Backup != nil {
					fmt.Fprintf(cmd.OutOrStdout(), " (recovery point %s)", j.Spec.Backup.RecoveryPoint)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "; follow it: cairn job logs %d --follow\n", j.ID)
				return nil
			}
			return waitAndReport(cmd, c, j, output, interval, env)
		},
	}
	cmd.Flags().StringVar(&retain, "retain", "", "keep the on-demand recovery point this long, e.g. 30d (default: until it is deleted)")
	cmd.Flags().StringVar(&volumeData, "volume-data", "", "what this backup keeps of each volume: "+strings.Join(vaultv1.VolumeDataModes, ", ")+
		" (default: the instance's volumeData)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the job to its end (progress and log on stderr); exit non-zero unless it succeeds")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml (the job)")
	registerPollInterval(cmd, &interval)
	return cmd
}

// waitAndReport follows a queued job to its end, prints it as it ended and fails unless it
// succeeded.
func waitAndReport(cmd *cobra.Command, c *client.Client, j vaultv1.Job, output string, interval time.Duration, env Env) error {
	fmt.Fprintf(env.Stderr, "%s job %d queued; waiting for the agent of cluster %s (Ctrl-C stops waiting, not the job)\n", j.Kind, j.ID, j.Cluster)
	w := jobWatch{c: c, stderr: env.Stderr, interval: interval}
	done, err := w.wait(cmd.Context(), j.ID)
	if err != nil {
		return err
	}
	if ok, err := printStructured(cmd.OutOrStdout(), output, done); ok {
		if err != nil {
			return err
		}
		return jobOutcome(done)
	}
	printJob(cmd.OutOrStdout(), done, env.now())
	return jobOutcome(done)
}

func newInstanceStopCommand(env Env) *cobra.Command {
	var deleteData, yes bool
	cmd := vaultVerb[vaultv1.Instance]{
		check: func(args []string) error {
			if deleteData && !yes {
				return fmt.Errorf("--delete-data deletes every recovery point of instance %q and its volume snapshots, which cannot be undone: add --yes to confirm", args[0])
			}
			return nil
		},
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.Instance, error) {
			return c.StopInstance(ctx, args[0], vaultv1.StopRequest{DeleteData: deleteData})
		},
		text: func(out io.Writer, in vaultv1.Instance) error {
			if deleteData {
				_, err := fmt.Fprintf(out, "stopped instance %q (%s): its recovery points are being deleted (cairn job list --instance %s)\n", in.Name, in.State, in.Name)
				return err
			}
			_, err := fmt.Fprintf(out, "stopped instance %q (%s): no more scheduled backups; its recovery points are kept; cairn instance resume %s restarts it\n",
				in.Name, in.State, in.Name)
			return err
		},
	}.build(env, &cobra.Command{
		Use:   "stop NAME",
		Short: "Stop an instance's scheduled backups, keeping its recovery points (or, with --delete-data --yes, deleting them)",
		Long: `Stop an instance: no more scheduled backups; its recovery points are kept and retention pauses.
With --delete-data every recovery point of the instance is deleted (a retention-delete job each, which
also deletes its volume snapshots); that cannot be undone, so it needs --yes.`,
		Args: cobra.ExactArgs(1),
	})
	cmd.Flags().BoolVar(&deleteData, "delete-data", false, "also delete every recovery point of the instance (needs --yes)")
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm --delete-data")
	return cmd
}

func newInstanceResumeCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.Instance]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.Instance, error) {
			return c.ResumeInstance(ctx, args[0])
		},
		text: func(out io.Writer, in vaultv1.Instance) error {
			_, err := fmt.Fprintf(out, "resumed instance %q (%s): next backup %s\n", in.Name, in.State, formatTime(in.NextBackup))
			return err
		},
	}.build(env, &cobra.Command{Use: "resume NAME", Short: "Resume a stopped instance's scheduled backups", Args: cobra.ExactArgs(1)})
}

func newInstanceDeleteCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a stopped instance that has no recovery point left",
		Long: `Delete an instance. The vault refuses it unless the instance is stopped and has no recovery point
left: stop it with --delete-data --yes first, and wait for its deletion jobs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			if err := c.DeleteInstance(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted instance %q\n", args[0])
			return nil
		},
	}
}

// rpoCell says where an instance stands against its objective: met, pending, paused, or
// "BREACHED 3h" (since when), loud because it wants someone to look.
func rpoCell(st *vaultv1.RPOStatus, now time.Time) string {
	switch {
	case st == nil:
		return "-"
	case st.State == policy.RPOBreached && st.BreachedSince != nil:
		return "BREACHED " + humanize.Age(now.Sub(*st.BreachedSince))
	case st.State == policy.RPOBreached:
		return "BREACHED"
	}
	return st.State
}
