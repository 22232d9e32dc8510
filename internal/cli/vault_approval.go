package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newApprovalCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "approval", Short: "Destructive calls held for a second contributor's approval (vault serve --require-approval)"}
	cmd.AddCommand(newApprovalListCommand(env), newApprovalShowCommand(env),
		newApprovalDecideCommand(env, "approve", "Approve another contributor's request: the vault runs it as its requester", (*client.Client).ApproveApproval),
		newApprovalDecideCommand(env, "reject", "Reject a request (your own: cancel it)", (*client.Client).RejectApproval))
	return cmd
}

func newApprovalListCommand(env Env) *cobra.Command {
	var state string
	var limit int
	cmd := vaultVerb[[]vaultv1.ApprovalRequest]{
		call: func(ctx context.Context, c *client.Client, _ []string) ([]vaultv1.ApprovalRequest, error) {
			list, err := c.ListApprovals(ctx, state, limit, "")
			return list.Items, err
		},
		text: func(out io.Writer, list []vaultv1.ApprovalRequest) error {
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tSTATE\tOPERATION\tPATH\tREQUESTED BY\tREQUESTED\tDECIDED BY\tRESULT")
			for _, a := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, a.Operation, a.Path, a.RequestedBy, a.RequestedAt.Format(time.RFC3339),
					orDash(a.DecidedBy), orDash(a.ResultMessage))
			}
			return tw.Flush()
		},
	}.build(env, &cobra.Command{Use: "list", Short: "List approval requests, newest first", Args: cobra.NoArgs})
	cmd.Flags().StringVar(&state, "state", "", "only requests in this state: pending, approved, failed, rejected, cancelled or expired")
	cmd.Flags().IntVar(&limit, "limit", 100, "show at most this many requests")
	return cmd
}

func newApprovalShowCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.ApprovalRequest]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.ApprovalRequest, error) {
			id, err := approvalArg(args[0])
			if err != nil {
				return vaultv1.ApprovalRequest{}, err
			}
			return c.GetApproval(ctx, id)
		},
		text: printApproval,
	}.build(env, &cobra.Command{Use: "show ID", Short: "Show an approval request", Args: cobra.ExactArgs(1)})
}

func newApprovalDecideCommand(env Env, verb, short string, decide func(*client.Client, context.Context, int64) (vaultv1.ApprovalRequest, error)) *cobra.Command {
	return vaultVerb[vaultv1.ApprovalRequest]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.ApprovalRequest, error) {
			id, err := approvalArg(args[0])
			if err != nil {
				return vaultv1.ApprovalRequest{}, err
			}
			return decide(c, ctx, id)
		},
		text: printApproval,
	}.build(env, &cobra.Command{Use: verb + " ID", Short: short, Args: cobra.ExactArgs(1)})
}

func approvalArg(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("approval request %q: give its number (cairn approval list)", arg)
	}
	return id, nil
}

func printApproval(out io.Writer, a vaultv1.ApprovalRequest) error {
	fmt.Fprintf(out, "approval request %d: %s\n  operation:  %s %s\n", a.ID, a.State, a.Operation, a.Path)
	if a.Body != "" {
		fmt.Fprintf(out, "  body:       %s\n", a.Body)
	}
	fmt.Fprintf(out, "  requested:  by %s at %s, expires %s\n", a.RequestedBy, a.RequestedAt.Format(time.RFC3339), a.ExpiresAt.Format(time.RFC3339))
	if a.DecidedBy != "" {
		fmt.Fprintf(out, "  decided:    by %s at %s\n", a.DecidedBy, formatTime(a.DecidedAt))
	}
	if a.ResultStatus != 0 {
		fmt.Fprintf(out, "  result:     %d %s\n", a.ResultStatus, a.ResultMessage)
	}
	return nil
}
