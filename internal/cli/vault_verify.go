package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
)

// The verification of recovery points through the vault (docs/design/monitoring.md,
// "Verification").

func newRecoveryPointVerifyCommand(env Env) *cobra.Command {
	var output, level string
	var wait bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "verify NAME",
		Short: "Verify a recovery point now: the agent of its cluster reads it back; --wait follows the job to its end",
		Long: `Verify a recovery point now: the agent of its cluster reads it back and the vault keeps the outcome
(cairn recovery-point show). --level data (the default) reads every byte: every file against its
checksum, every item, every data blob of its volume copies. --level structure reads no data: the
manifest's authentication, every file present with its size and nothing added, the index, and the
volume copies' directory trees.`,
		Example: `  cairn recovery-point verify shop-nightly-20250102023000 --wait
  cairn recovery-point verify shop-nightly-20250102023000 --level structure -o json   # the queued job`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := checkInterval(interval); err != nil {
				return err
			}
			if err := checkChoice("level", level, vaultv1.VerifyLevels); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			j, err := c.VerifyRecoveryPoint(cmd.Context(), args[0], vaultv1.VerifyRequest{Level: level})
			if err != nil {
				return err
			}
			if wait {
				return waitAndReport(cmd, c, j, output, interval, env)
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, j); ok {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "queued verify job %d of recovery point %q (%s); follow it: cairn job logs %d --follow\n",
				j.ID, args[0], orDefault(level, vaultv1.VerifyData), j.ID)
			return err
		},
	}
	cmd.Flags().StringVar(&level, "level", vaultv1.VerifyData, "what to read: data (every byte) or structure (authentication, files and sizes, index, copies' trees; no data)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the job to its end (progress and log on stderr); exit non-zero unless the recovery point passes")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml (the job)")
	registerPollInterval(cmd, &interval)
	return cmd
}

// describeVerification says a recovery point's newest verification in words, e.g. "data, passed
// 2025-01-09T02:30:00Z (scheduled, job 42)".
func describeVerification(v *vaultv1.Verification) string {
	if v == nil {
		return "never"
	}
	out := fmt.Sprintf("%s, %s %s (%s, job %d)", v.Level, v.State, formatTime(&v.At), v.Trigger, v.Job)
	switch {
	case v.Problems > 0:
		out += fmt.Sprintf(": %d problem(s), the first: %s", v.Problems, v.FirstProblem)
	case v.FirstProblem != "":
		out += ": " + v.FirstProblem
	}
	return out
}

// describeVerifyResult says what a verify job checked.
func describeVerifyResult(v vaultv1.VerifyResult) string {
	out := fmt.Sprintf("%d files, %d sections", v.Files, v.Sections)
	if v.Level == vaultv1.VerifyData {
		out += fmt.Sprintf(", %d items", v.Items)
	}
	if v.Copies > 0 {
		out += fmt.Sprintf(", %d volume copies", v.Copies)
		if v.Level == vaultv1.VerifyData {
			out += fmt.Sprintf(" (%d blobs, %s read)", v.Blobs, humanize.Bytes(v.BytesRead))
		}
	}
	return out + fmt.Sprintf("; %d problem(s)", v.Problems)
}
