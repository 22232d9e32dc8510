package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newPolicyCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Backup policies: schedules and retention rules, in the vault"}
	cmd.AddCommand(newPolicyCreateCommand(env), newPolicyListCommand(env), newPolicyShowCommand(env), newPolicyDeleteCommand(env))
	return cmd
}

func newPolicyCreateCommand(env Env) *cobra.Command {
	var p policy.Policy
	var def, daily, weekly, monthly, yearly, rpo, lockFor string
	var tier policy.CopyTier
	var verify policy.VerifySchedule
	var verifyStructure, verifyData string
	var test policy.TestRestore
	var testEvery, testReady string
	var testChecks []string
	var cDef, cDaily, cWeekly, cMonthly, cYearly string
	cmd := vaultVerb[policy.Policy]{
		check: func(args []string) error {
			p.Name = args[0]
			for _, d := range []struct {
				flag, value string
				dst         *policy.Duration
			}{{"retain", def, &p.Retention.Default}, {"daily", daily, &p.Retention.Daily}, {"weekly", weekly, &p.Retention.Weekly},
				{"monthly", monthly, &p.Retention.Monthly}, {"yearly", yearly, &p.Retention.Yearly},
				{"copy-retain", cDef, &tier.Retention.Default}, {"copy-retain-daily", cDaily, &tier.Retention.Daily},
				{"copy-retain-weekly", cWeekly, &tier.Retention.Weekly}, {"copy-retain-monthly", cMonthly, &tier.Retention.Monthly},
				{"copy-retain-yearly", cYearly, &tier.Retention.Yearly}, {"rpo", rpo, &p.RPO}, {"lock-for", lockFor, &p.LockFor},
				{"verify-structure", verifyStructure, &verify.Structure}, {"verify-data", verifyData, &verify.Data},
				{"test-restore-every", testEvery, &test.Every}, {"test-restore-ready-timeout", testReady, &test.ReadyTimeout}} {
				if d.value == "" {
					continue
				}
				v, err := policy.ParseDuration(d.value)
				if err != nil {
					return fmt.Errorf("--%s: %w", d.flag, err)
				}
				*d.dst = v
			}
			if tier != (policy.CopyTier{}) {
				p.Copy = &tier
			}
			if verifyStructure != "" || verifyData != "" {
				p.Verify = &verify
			}
			for _, c := range testChecks {
				var tc policy.TestRestoreCheck
				dec := json.NewDecoder(strings.NewReader(c))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&tc); err != nil {
					return fmt.Errorf(`--test-restore-check %s: give a JSON object like {"namespace": "shop", "selector": "app=db", "container": "db", "command": ["pg_isready", "-q"], "timeout": "30s"}: %w`, c, err)
				}
				test.Checks = append(test.Checks, tc)
			}
			if testEvery != "" || test.Cluster != "" || testReady != "" || len(test.Checks) > 0 {
				p.TestRestore = &test
			}
			return p.Validate()
		},
		call: func(ctx context.Context, c *client.Client, _ []string) (policy.Policy, error) {
			return c.CreatePolicy(ctx, p)
		},
		text: func(out io.Writer, created policy.Policy) error {
			_, err := fmt.Fprintf(out, "created policy %q\n", created.Name)
			return err
		},
	}.build(env, &cobra.Command{
		Use:   "create NAME",
		Short: "Create a policy",
		Example: `  cairn policy create nightly --daily-at 02:30 --time-zone Europe/Berlin --retain 7d --weekly 4w --monthly 1y --keep-last 3
  cairn policy create frequent --every-hours 4 --retain 2d
  cairn policy create tiered --every-hours 4 --retain 7d --copy-daily --copy-retain 365d --copy-retain-monthly 3y
  cairn policy create checked --daily-at 01:00 --retain 14d --verify-structure 7d --verify-data 30d
  cairn policy create proven --daily-at 01:00 --retain 14d --test-restore-every 7d --test-restore-cluster staging \
      --test-restore-check '{"namespace": "shop", "selector": "app=db", "command": ["pg_isready", "-q"]}'`,
		Args: cobra.ExactArgs(1),
	})
	fl := cmd.Flags()
	fl.IntVar(&p.Schedule.EveryHours, "every-hours", 0, "back up every 1, 2, 4, 6, 8 or 12 hours")
	fl.StringVar(&p.Schedule.DailyAt, "daily-at", "", "back up daily at HH:MM")
	fl.StringVar(&p.Schedule.Cron, "cron", "", `back up on a 5-field cron schedule, e.g. "30 2 * * 1-5"`)
	fl.StringVar(&p.Schedule.TimeZone, "time-zone", "", "IANA time zone of the schedule and of day/week/month/year boundaries (default UTC)")
	fl.StringVar(&def, "retain", "", "keep every recovery point this long, e.g. 7d (required)")
	fl.StringVar(&daily, "daily", "", "keep the first successful recovery point of each day this long")
	fl.StringVar(&weekly, "weekly", "", "keep the first successful recovery point of each week this long, e.g. 4w")
	fl.StringVar(&monthly, "monthly", "", "keep the first successful recovery point of each month this long")
	fl.StringVar(&yearly, "yearly", "", "keep the first successful recovery point of each year this long, e.g. 5y")
	fl.IntVar(&p.Retention.KeepLast, "keep-last", 0, "never let retention delete the newest N successful recovery points")
	fl.StringVar(&lockFor, "lock-for", "", "make each recovery point immutable in storage for this long after its backup, e.g. 30d (S3 object lock, Azure immutability, the file store's lock); at most the retention")
	fl.StringVar(&rpo, "rpo", "", "recovery point objective: flag an instance whose newest good recovery point is older, e.g. 26h (default: the schedule's longest gap plus 1h)")
	fl.IntVar(&tier.Every, "copy-every", 0, "copy tier: also copy the volumes of every N-th scheduled backup into the backup storage (1: every backup)")
	fl.BoolVar(&tier.Daily, "copy-daily", false, "copy tier: also copy the volumes of the first scheduled backup of each UTC day")
	fl.StringVar(&cDef, "copy-retain", "", "copy tier: keep every copy this long, e.g. 365d (required with a copy tier)")
	fl.StringVar(&cDaily, "copy-retain-daily", "", "copy tier: keep the first successful copy of each day this long")
	fl.StringVar(&cWeekly, "copy-retain-weekly", "", "copy tier: keep the first successful copy of each week this long")
	fl.StringVar(&cMonthly, "copy-retain-monthly", "", "copy tier: keep the first successful copy of each month this long")
	fl.StringVar(&cYearly, "copy-retain-yearly", "", "copy tier: keep the first successful copy of each year this long")
	fl.IntVar(&tier.Retention.KeepLast, "copy-keep-last", 0, "copy tier: never let retention delete the newest N successful copies")
	fl.StringVar(&verifyStructure, "verify-structure", "", "verify the structure of each instance's newest good recovery point this often, e.g. 7d (no data read)")
	fl.StringVar(&verifyData, "verify-data", "", "read back all the data of each instance's newest good recovery point this often, e.g. 30d")
	fl.StringVar(&testEvery, "test-restore-every", "", "test-restore each instance's newest good recovery point into scratch namespaces this often, e.g. 7d")
	fl.StringVar(&test.Cluster, "test-restore-cluster", "", "test restores: the cluster to restore into (default: the instance's own)")
	fl.StringVar(&testReady, "test-restore-ready-timeout", "", "test restores: how long the restored pods get to become Ready (default 5m)")
	fl.StringArrayVar(&testChecks, "test-restore-check", nil, `test restores: a command to run in restored pods, as JSON: {"namespace": "shop", "selector": "app=db", "command": ["pg_isready", "-q"]} (repeatable)`)
	return cmd
}

func newPolicyListCommand(env Env) *cobra.Command {
	return vaultVerb[[]policy.Policy]{
		call: func(ctx context.Context, c *client.Client, _ []string) ([]policy.Policy, error) {
			return c.ListPolicies(ctx)
		},
		text: func(out io.Writer, list []policy.Policy) error {
			t := newTable(out)
			fmt.Fprintln(t, "NAME\tSCHEDULE\tRETENTION\tCOPIES\tVERIFY")
			for _, p := range list {
				copies, verify := "-", "-"
				if p.Copy != nil {
					copies = p.Copy.Describe()
				}
				if p.Verify != nil {
					verify = p.Verify.Describe()
				}
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.Schedule.Describe(), p.Retention.Describe(), copies, verify)
			}
			return t.Flush()
		},
	}.build(env, &cobra.Command{Use: "list", Short: "List the policies", Args: cobra.NoArgs})
}

func newPolicyShowCommand(env Env) *cobra.Command {
	return vaultVerb[policy.Policy]{
		call: func(ctx context.Context, c *client.Client, args []string) (policy.Policy, error) {
			return c.GetPolicy(ctx, args[0])
		},
		text: func(out io.Writer, p policy.Policy) error {
			copies := "none (every backup keeps what its instance's volumeData says)"
			retention := "retention:"
			if p.Copy != nil {
				copies, retention = p.Copy.Describe(), "snapshots:"
			}
			_, err := fmt.Fprintf(out, "policy %q\n  schedule:  %s\n  %-10s %s\n  copies:    %s\n  rpo:       %s\n  verify:    %s\n  test restores: %s\n  lock:      %s\n", p.Name,
				p.Schedule.Describe(), retention, p.Retention.Describe(), copies, p.DescribeRPO(), p.DescribeVerify(), p.DescribeTestRestore(), p.DescribeLock())
			return err
		},
	}.build(env, &cobra.Command{Use: "show NAME", Short: "Show a policy", Args: cobra.ExactArgs(1)})
}

func newPolicyDeleteCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a policy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			if err := c.DeletePolicy(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted policy %q\n", args[0])
			return nil
		},
	}
}
