package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newInstanceReconcileCommand(env Env) *cobra.Command {
	var wait bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "reconcile NAME",
		Short: "Rebuild the instance's catalogue from its repository: recover the recovery points storage holds and the vault lost",
		Long: `Queue the inventory of the instance's repository: its cluster's agent reads the backups storage
holds, a page at a time, and the vault records those its catalogue lacks. Points the catalogue has
but storage does not, and backups that cannot be read, are reported, never changed. With --wait,
follows every page and prints what was found. (docs/design/vault.md, "The catalogue rebuilt from
storage")`,
		Example: `  cairn instance reconcile shop-nightly --wait`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkInterval(interval); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			if !wait {
				j, err := c.ReconcileInstance(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "queued inventory job %d of instance %q in cluster %s; follow it: cairn job logs %d --follow (or --wait)\n",
					j.ID, args[0], j.Cluster, j.ID)
				return err
			}
			sum, err := reconcile(cmd.Context(), c, jobWatch{c: c, stderr: cmd.ErrOrStderr(), interval: interval}, args[0], cmd.OutOrStdout())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), sum)
			return err
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow every page of the inventory and print what it found")
	registerPollInterval(cmd, &interval)
	return cmd
}

func newVaultRecoverCommand(env Env) *cobra.Command {
	var names []string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Rebuild the catalogue from storage: reconcile every instance (or those named) and wait",
		Long: `Reconcile the instances of the vault one after another (cairn instance reconcile --wait): each
instance's agent reads its repository and the vault records the recovery points its catalogue
lacks. After the vault's database was lost: start a vault, register the clusters and install their
agents again, create the instances again with the same names and storage locations, then run this.`,
		Example: `  cairn vault recover
  cairn vault recover --instance shop-nightly --instance billing-hourly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkInterval(interval); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(names) == 0 {
				all, _, err := collect(0, func(limit int, cursor string) (vaultv1.List[vaultv1.Instance], error) {
					return c.ListInstances(ctx, client.InstanceFilter{Limit: limit, Cursor: cursor})
				})
				if err != nil {
					return err
				}
				for _, in := range all {
					names = append(names, in.Name)
				}
			}
			if len(names) == 0 {
				return errors.New("the vault has no instance: create the instances again (cairn instance create, with their old names and storage) and run this again")
			}
			out := cmd.OutOrStdout()
			var failed []string
			for _, name := range names {
				sum, err := reconcile(ctx, c, jobWatch{c: c, stderr: cmd.ErrOrStderr(), interval: interval}, name, out)
				if err != nil {
					fmt.Fprintf(out, "instance %q: %v\n", name, err)
					failed = append(failed, name)
					continue
				}
				fmt.Fprintln(out, sum)
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d instances not reconciled: %s", len(failed), len(names), strings.Join(failed, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&names, "instance", nil, "an instance to reconcile (repeat for more; default: every instance)")
	registerPollInterval(cmd, &interval)
	return cmd
}

// reconcileSummary counts what an instance's inventory found.
type reconcileSummary struct {
	instance                                 string
	pages, recovered, lost, unreadable, kept int
}

func (s reconcileSummary) String() string {
	return fmt.Sprintf("instance %q: %d recovery point(s) recovered from storage, %d in the catalogue but not in storage, %d unreadable in storage, %d deleted in the catalogue and left deleted (%d page(s))",
		s.instance, s.recovered, s.lost, s.unreadable, s.kept, s.pages)
}

// reconcile queues the inventory of the instance and follows its pages to the last, writing the
// vault's findings to out.
func reconcile(ctx context.Context, c *client.Client, w jobWatch, name string, out io.Writer) (reconcileSummary, error) {
	sum := reconcileSummary{instance: name}
	w.logs = func(l vaultv1.LogLine) error {
		for _, f := range []struct {
			marker string
			count  *int
		}{
			{"recovered recovery point", &sum.recovered},
			{"is in the catalogue but not in storage", &sum.lost},
			{"in storage cannot be read", &sum.unreadable},
			{"deleted in the catalogue: left deleted", &sum.kept},
		} {
			if strings.Contains(l.Message, f.marker) {
				*f.count++
				_, err := fmt.Fprintf(out, "%s: %s\n", name, l.Message)
				return err
			}
		}
		return nil
	}
	j, err := c.ReconcileInstance(ctx, name)
	if err != nil {
		return sum, err
	}
	for {
		ended, err := w.wait(ctx, j.ID)
		if err != nil {
			return sum, err
		}
		sum.pages++
		if err := jobOutcome(ended); err != nil {
			return sum, err
		}
		next, ok, err := nextInventoryPage(ctx, c, name, ended.ID)
		if err != nil || !ok {
			return sum, err
		}
		j = next
	}
}

// nextInventoryPage finds the job of the page after job id's: the vault queued it in the
// transaction that ended id, so once id ended it is there, or there is none.
func nextInventoryPage(ctx context.Context, c *client.Client, instance string, id int64) (vaultv1.Job, bool, error) {
	page, err := c.ListJobs(ctx, client.JobFilter{Kind: agentv1.KindInventory, Instance: instance, Limit: 20})
	if err != nil {
		return vaultv1.Job{}, false, err
	}
	var next vaultv1.Job
	for _, j := range page.Items {
		if j.ID > id && (next.ID == 0 || j.ID < next.ID) {
			next = j
		}
	}
	return next, next.ID != 0, nil
}
