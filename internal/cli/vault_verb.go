package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/vault/client"
)

// vaultVerb is a command that makes one call to the vault and prints its answer: as JSON or YAML
// with -o, else as text.
type vaultVerb[T any] struct {
	// check validates the arguments and flags before the vault is asked anything; may be nil.
	check func(args []string) error
	call  func(ctx context.Context, c *client.Client, args []string) (T, error)
	// text prints the answer for -o table.
	text func(out io.Writer, answer T) error
	// outputHelp replaces the usage of -o when the structured answer needs a word of warning.
	outputHelp string
}

// build completes cmd with the verb's RunE and the -o flag.
func (v vaultVerb[T]) build(env Env, cmd *cobra.Command) *cobra.Command {
	var output string
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output); err != nil {
			return err
		}
		if v.check != nil {
			if err := v.check(args); err != nil {
				return err
			}
		}
		c, err := vaultClient(env)
		if err != nil {
			return err
		}
		answer, err := v.call(cmd.Context(), c, args)
		if err != nil {
			return err
		}
		if ok, err := printStructured(cmd.OutOrStdout(), output, answer); ok {
			return err
		}
		return v.text(cmd.OutOrStdout(), answer)
	}
	help := "output format: table, json or yaml"
	if v.outputHelp != "" {
		help = v.outputHelp
	}
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, help)
	return cmd
}
