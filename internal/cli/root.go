// Package cli builds cairn's command tree. Commands hold no global state: everything a command
// needs is created in its constructor or passed in through Env, so tests can run several trees
// side by side.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// Env is what the commands take from the process: output streams and environment variables.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Now is the clock retention and lock times are measured on (default time.Now).
	Now func() time.Time
	// LimitMemory sets the process's soft memory limit for a command that says how much it needs
	// (nil: the limit is left alone, as in tests that run commands inside another program).
	LimitMemory func(bytes int64)
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// ProcessEnv is the real process's Env. Its memory limit yields to GOMEMLIMIT when that is set.
func ProcessEnv() Env {
	return Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, LimitMemory: func(bytes int64) {
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(bytes)
		}
	}}
}

// NewRootCommand returns the cairn command with all subcommands.
func NewRootCommand(env Env) *cobra.Command {
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Back up and restore Kubernetes clusters",
		Long: "cairn backs up every API object of a Kubernetes cluster and its persistent volumes to a blob\n" +
			"container, and restores them to the same or another cluster.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	target := &kube.Target{}
	root.PersistentFlags().StringVar(&target.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	root.PersistentFlags().StringVar(&target.Context, "context", "", "kubeconfig context (default: the current context)")
	root.PersistentFlags().BoolVar(&target.Gzip, "apiserver-gzip", false,
		"ask the Kubernetes API server to compress its answers: for a slow link to a remote cluster (on a fast one it slows a backup down)")
	root.AddCommand(newVersionCommand(), newClusterCommand(target, env), newBackupCommand(target, env), newRestoreCommand(target, env), newFilesCommand(env), newVolumesCommand(target, env), newHooksCommand(target, env),
		newVaultCommand(env), newLoginCommand(env), newTokenCommand(env), newPolicyCommand(env), newApprovalCommand(env))
	root.AddCommand(newVaultObjectCommands(env)...)
	root.AddCommand(newAgentCommand(target, env))
	root.InitDefaultCompletionCmd() // cobra would add this group only in Execute, after the walk
	failOnUnknownSubcommands(root)
	reportHeldCalls(root)
	return root
}

// reportHeldCalls makes every command whose vault call was held for approval (a destructive call
// on a vault that requires it) say so and succeed: the call is made once another contributor
// approves it.
func reportHeldCalls(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			err := run(c, args)
			if held, ok := errors.AsType[*client.ApprovalPending](err); ok {
				_, err = fmt.Fprintln(c.OutOrStdout(), held.Error())
			}
			return err
		}
	}
	for _, sub := range cmd.Commands() {
		reportHeldCalls(sub)
	}
}

// failOnUnknownSubcommands gives cmd and every command group below it (a command with
// subcommands and no Run of its own) groupRunE. Cobra would otherwise print a group's help and
// exit 0 on an unknown subcommand, so a script with a mistyped verb believes it succeeded.
func failOnUnknownSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = groupRunE
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2 // cobra's default, which only its own lookup applies
		}
	}
	for _, sub := range cmd.Commands() {
		failOnUnknownSubcommands(sub)
	}
}

// groupRunE is a command group's run, modelled on kubectl's DefaultSubCommandRun: with no
// argument it prints the group's help; with one it fails naming the unknown subcommand and the
// nearest ones.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "unknown command %q for %q", args[0], cmd.CommandPath())
	if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 && !cmd.DisableSuggestions {
		msg.WriteString("\n\nDid you mean this?\n\t" + strings.Join(suggestions, "\n\t"))
	}
	fmt.Fprintf(&msg, "\n\nRun '%s --help' for usage.", cmd.CommandPath())
	return errors.New(msg.String())
}
