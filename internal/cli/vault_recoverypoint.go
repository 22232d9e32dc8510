package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newRecoveryPointCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "recovery-point",
		Aliases: []string{"rp"},
		Short:   "The recovery points the vault knows: the backups of its instances",
	}
	cmd.AddCommand(newRecoveryPointListCommand(env), newRecoveryPointShowCommand(env), newRecoveryPointVerifyCommand(env),
		newRecoveryPointDeleteCommand(env), newRecoveryPointUndeleteCommand(env))
	return cmd
}

func newRecoveryPointListCommand(env Env) *cobra.Command {
	var f client.RecoveryPointFilter
	var more bool
	cmd := vaultVerb[[]vaultv1.RecoveryPoint]{
		check: func([]string) error { return checkLimit(f.Limit) },
		call: func(ctx context.Context, c *client.Client, _ []string) (list []vaultv1.RecoveryPoint, err error) {
			list, more, err = collect(f.Limit, func(limit int, cursor string) (vaultv1.List[vaultv1.RecoveryPoint], error) {
				g := f
				g.Limit, g.Cursor = limit, cursor
				return c.ListRecoveryPoints(ctx, g)
			})
			return list, err
		},
		text: func(out io.Writer, list []vaultv1.RecoveryPoint) error {
			if err := printRecoveryPoints(out, list); err != nil {
				return err
			}
			noteMore(env.Stderr, more, len(list), "recovery points")
			return nil
		},
	}.build(env, &cobra.Command{
		Use:     "list",
		Short:   "List recovery points, newest first",
		Example: `  cairn recovery-point list --instance shop-nightly --limit 10`,
		Args:    cobra.NoArgs,
	})
	cmd.Flags().StringVar(&f.Instance, "instance", "", "only the recovery points of this instance")
	cmd.Flags().StringVar(&f.Cluster, "cluster", "", "only the recovery points of this cluster")
	cmd.Flags().BoolVar(&f.Deleted, "deleted", false, "only the deleted recovery points the vault still keeps (cairn recovery-point undelete brings one back)")
	cmd.Flags().IntVar(&f.Limit, "limit", 100, "show at most this many recovery points")
	return cmd
}

func printRecoveryPoints(out io.Writer, list []vaultv1.RecoveryPoint) error {
	t := newTable(out)
	fmt.Fprintln(t, "NAME\tINSTANCE\tCLUSTER\tTIME\tPHASE\tITEMS\tSTORED\tVOLUMES\tTIERS\tEXPIRES")
	for _, rp := range list {
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", rp.Name, rp.Instance, rp.Cluster, formatTime(&rp.Time), rp.Phase,
			rp.Items, humanize.Bytes(rp.StoredBytes), describeVolumes(rp), describeTiers(rp), describeExpiry(rp))
	}
	return t.Flush()
}

func describeVolumes(rp vaultv1.RecoveryPoint) string {
	if rp.VolumesFailed > 0 {
		return fmt.Sprintf("%d (%d failed)", rp.Volumes, rp.VolumesFailed)
	}
	return fmt.Sprint(rp.Volumes)
}

// describeTiers says which tiers hold a recovery point's volumes: snapshot+copy, snapshot, copy,
// a mix of them joined by ", ", or "-" when none.
func describeTiers(rp vaultv1.RecoveryPoint) string {
	var out []string
	for _, v := range rp.VolumeTiers {
		if t := tierName(v); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		if rp.Volumes > 0 && rp.VolumesCopied == 0 {
			return "snapshot" // recorded before the tiers were
		}
		return "-"
	}
	return strings.Join(out, ", ")
}

// tierName names the tiers that hold one claim.
func tierName(v vaultv1.VolumeTiers) string {
	switch {
	case v.Snapshot && v.Copy:
		return "snapshot+copy"
	case v.Copy:
		return "copy"
	case v.Snapshot:
		return "snapshot"
	}
	return "none"
}

func describeExpiry(rp vaultv1.RecoveryPoint) string {
	switch {
	case rp.ExpiresAt != nil:
		return formatTime(rp.ExpiresAt)
	case rp.OnDemand:
		return "kept until deleted"
	}
	return "by retention"
}

func newRecoveryPointShowCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.RecoveryPoint]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.RecoveryPoint, error) {
			return c.GetRecoveryPoint(ctx, args[0])
		},
		text: printRecoveryPoint,
	}.build(env, &cobra.Command{Use: "show NAME", Short: "Show a recovery point", Args: cobra.ExactArgs(1)})
}

func printRecoveryPoint(out io.Writer, rp vaultv1.RecoveryPoint) error {
	kind := "scheduled"
	if rp.OnDemand {
		kind = "on demand"
	}
	fmt.Fprintf(out, "recovery point %q: %s\n", rp.Name, rp.Phase)
	fmt.Fprintf(out, "  instance:    %s (cluster %s)\n  time:        %s (%s, job %d)\n", rp.Instance, rp.Cluster, formatTime(&rp.Time), kind, rp.Job)
	fmt.Fprintf(out, "  items:       %d in %d namespaces", rp.Items, len(rp.Namespaces))
	if len(rp.Namespaces) > 0 {
		fmt.Fprintf(out, " (%s)", strings.Join(rp.Namespaces, ", "))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "  size:        %s raw, %s stored\n", humanize.Bytes(rp.RawBytes), humanize.Bytes(rp.StoredBytes))
	fmt.Fprintf(out, "  volumes:     %s protected, %s of snapshots", describeVolumes(rp), humanize.Bytes(rp.SnapshotBytes))
	if rp.VolumesCopied > 0 {
		fmt.Fprintf(out, ", %d copied (%s, %s added to the storage)", rp.VolumesCopied, humanize.Bytes(rp.CopyBytes), humanize.Bytes(rp.CopyAddedBytes))
	}
	fmt.Fprintln(out)
	for _, v := range rp.VolumeTiers {
		fmt.Fprintf(out, "    %s/%s: %s, %s\n", v.Namespace, v.Claim, tierName(v), humanize.Bytes(v.Bytes))
	}
	fmt.Fprintf(out, "  expires:     %s\n", describeExpiry(rp))
	if rp.LockedUntil != nil {
		fmt.Fprintf(out, "  locked:      immutable in storage until %s\n", formatTime(rp.LockedUntil))
	}
	if d := rp.Deleted; d != nil {
		_, err := fmt.Fprintf(out, "  DELETED:     by %s at %s, purged after %s\nbring it back: cairn recovery-point undelete %s\n",
			d.By, formatTime(&d.At), formatTime(&d.PurgeAfter), rp.Name)
		return err
	}
	fmt.Fprintf(out, "  verified:    %s\n", describeVerification(rp.Verification))
	_, err := fmt.Fprintf(out, "restore it: cairn restore create --from %s [--target-cluster CLUSTER] --wait\n", rp.Name)
	return err
}

func newRecoveryPointDeleteCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.RecoveryPoint]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.RecoveryPoint, error) {
			return c.DeleteRecoveryPoint(ctx, args[0])
		},
		text: func(out io.Writer, rp vaultv1.RecoveryPoint) error {
			if rp.Deleted == nil {
				_, err := fmt.Fprintf(out, "recovery point %q: nothing deleted\n", rp.Name)
				return err
			}
			_, err := fmt.Fprintf(out, "deleted recovery point %q: kept until %s, then purged; bring it back before then: cairn recovery-point undelete %s\n",
				rp.Name, formatTime(&rp.Deleted.PurgeAfter), rp.Name)
			return err
		},
	}.build(env, &cobra.Command{Use: "delete NAME", Short: "Delete a recovery point: the vault keeps it for its soft-delete days (and until its storage lock ends), then purges it",
		Args: cobra.ExactArgs(1)})
}

func newRecoveryPointUndeleteCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.RecoveryPoint]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.RecoveryPoint, error) {
			return c.UndeleteRecoveryPoint(ctx, args[0])
		},
		text: func(out io.Writer, rp vaultv1.RecoveryPoint) error {
			_, err := fmt.Fprintf(out, "recovery point %q is back: restore it with cairn restore create --from %s\n", rp.Name, rp.Name)
			return err
		},
	}.build(env, &cobra.Command{Use: "undelete NAME", Short: "Bring back a deleted recovery point before its purge", Args: cobra.ExactArgs(1)})
}
