package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/vault"
)

func newVaultDatabaseCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "database", Short: "Copies of the vault's SQLite database that vault serve --db-backup-storage takes: list them, restore one"}
	cmd.AddCommand(newVaultDatabaseCopiesCommand(env), newVaultDatabaseRestoreCommand(env))
	return cmd
}

func newVaultDatabaseCopiesCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var output string
	cmd := &cobra.Command{
		Use:   "copies --storage URL",
		Short: "List the copies of the vault's database in a repository, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			r, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			list, err := r.VaultDBCopies(cmd.Context())
			if err != nil {
				return err
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, list); ok {
				return err
			}
			t := newTable(cmd.OutOrStdout())
			fmt.Fprintln(t, "NAME\tTAKEN\tSIZE\tSTORED\tSCHEMA\tCAIRN")
			for _, l := range list {
				if l.Copy == nil {
					fmt.Fprintf(t, "%s\tUnusable: %s\t\t\t\t\n", l.Name, l.Problem)
					continue
				}
				var stored int64
				for _, p := range l.Copy.Parts {
					stored += p.Size
				}
				c := l.Copy
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%d\t%s\n", c.Name, c.TakenAt.Format(time.RFC3339), humanize.Bytes(c.Size), humanize.Bytes(stored),
					c.SchemaVersion, c.CairnVersion)
			}
			return t.Flush()
		},
	}
	repo.register(cmd, false)
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func newVaultDatabaseRestoreCommand(env Env) *cobra.Command {
	repo := repoFlags{getenv: env.Getenv}
	var r vault.DatabaseRestore
	cmd := &cobra.Command{
		Use:   "restore --storage URL --data-dir DIR [--copy NAME]",
		Short: "Put a copy of the vault's database in place in a data directory, for vault serve to run on",
		Long: `Put a copy of the vault's database (the newest, or --copy NAME) in place as DIR/vault.db. No vault may run
on DIR meanwhile. A database DIR already holds is set aside (renamed, not deleted) only with --force.
Every part of the copy and the whole file are checked before the database is put in place. Then start
the vault on DIR and run "cairn vault recover" to bring back the recovery points made after the copy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rp, err := repo.open(cmd.Context())
			if err != nil {
				return err
			}
			r.Now = env.now
			res, err := vault.RestoreDatabase(cmd.Context(), rp, r)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, f := range res.SetAside {
				fmt.Fprintf(out, "set aside: %s\n", f)
			}
			fmt.Fprintf(out, "restored copy %s (taken %s, %s, schema %d) to %s\n", res.Copy.Name, res.Copy.TakenAt.Format(time.RFC3339),
				humanize.Bytes(res.Copy.Size), res.Copy.SchemaVersion, res.Path)
			fmt.Fprintf(out, "next: cairn vault serve --data-dir %s, then cairn vault recover to bring back the recovery points made after %s\n",
				r.DataDir, res.Copy.TakenAt.Format(time.RFC3339))
			return nil
		},
	}
	repo.register(cmd, false)
	cmd.Flags().StringVar(&r.DataDir, "data-dir", "", "the data directory of the vault to restore (required)")
	cmd.Flags().StringVar(&r.Copy, "copy", "", "name of the copy to restore (default: the newest complete one; see cairn vault database copies)")
	cmd.Flags().BoolVar(&r.Force, "force", false, "set a database the data directory holds aside (renamed to vault.db.replaced-<time>) instead of refusing")
	_ = cmd.MarkFlagRequired("data-dir")
	return cmd
}
