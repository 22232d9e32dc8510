package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newNotificationCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "notification", Short: "Notification rules: which of the vault's events go to a webhook, Slack, Teams or e-mail; and their delivery log"}
	cmd.AddCommand(newNotificationCreateCommand(env), newNotificationListCommand(env), newNotificationShowCommand(env),
		newNotificationDeleteCommand(env), newNotificationTestCommand(env), newNotificationLogCommand(env))
	return cmd
}

func newNotificationCreateCommand(env Env) *cobra.Command {
	var r vaultv1.NotificationRule
	var webhook, slack, teams, secretFile string
	cmd := vaultVerb[vaultv1.NotificationRule]{
		check: func(args []string) error {
			r.Name = args[0]
			var given []string
			for _, c := range []struct{ flag, url, typ string }{{"webhook", webhook, vaultv1.ChannelWebhook}, {"slack", slack, vaultv1.ChannelSlack},
				{"teams", teams, vaultv1.ChannelTeams}} {
				if c.url != "" {
					given = append(given, "--"+c.flag)
					r.Channel.Type, r.Channel.URL = c.typ, c.url
				}
			}
			if len(r.Channel.To) > 0 {
				given = append(given, "--email-to")
				r.Channel.Type = vaultv1.ChannelEmail
			}
			switch {
			case len(given) == 0:
				return errors.New("say where the notifications go: --webhook URL, --slack URL, --teams URL or --email-to ADDRESS (with --smtp and --from)")
			case len(given) > 1:
				return fmt.Errorf("give one channel per rule, not %s: make a rule for each", strings.Join(given, " and "))
			}
			if len(r.Events) == 0 {
				return fmt.Errorf("--event: say which events to send: %s", strings.Join(vaultv1.EventTypes, ", "))
			}
			for _, e := range r.Events {
				if err := checkChoice("event", e, vaultv1.EventTypes); err != nil {
					return err
				}
			}
			if secretFile != "" {
				data, err := os.ReadFile(secretFile)
				if err != nil {
					return fmt.Errorf("--secret-file: %w", err)
				}
				if r.Secret = string(bytes.TrimRight(data, "\r\n")); r.Secret == "" {
					return fmt.Errorf("--secret-file %s is empty", secretFile)
				}
			}
			return nil
		},
		call: func(ctx context.Context, c *client.Client, _ []string) (vaultv1.NotificationRule, error) {
			return c.CreateNotificationRule(ctx, r)
		},
		text: func(out io.Writer, r vaultv1.NotificationRule) error {
			_, err := fmt.Fprintf(out, "created notification rule %q: %s to %s\ntry it: cairn notification test %s\n", r.Name,
				strings.Join(r.Events, ", "), describeChannel(r.Channel), r.Name)
			return err
		},
	}.build(env, &cobra.Command{
		Use:   "create NAME",
		Short: "Create a notification rule",
		Long: `Create a notification rule: the events it sends (--event, repeatable: ` + strings.Join(vaultv1.EventTypes, ", ") + `)
and the one channel it sends them to.

A generic webhook gets a JSON document (docs/design/monitoring.md, "Webhook payload"); with
--secret-file it is signed with HMAC-SHA256 in the X-Cairn-Signature header. Slack and Teams
incoming webhooks get a message of their own shape; their URL is their credential, and the vault
shows only its host. E-mail goes through an SMTP server (STARTTLS when it offers it); with
--smtp-username the password is read from --secret-file.`,
		Example: `  cairn notification create ops --event job-failed --event rpo-breached --webhook https://ops.example.com/cairn --secret-file hmac.key
  cairn notification create chat --event agent-unhealthy --slack https://hooks.slack.com/services/T000/B000/XXXX
  cairn notification create mail --event job-failed --email-to oncall@example.com --smtp smtp.example.com:587 --from cairn@example.com \
      --smtp-username cairn --secret-file smtp.password`,
		Args: cobra.ExactArgs(1),
	})
	fl := cmd.Flags()
	fl.StringSliceVar(&r.Events, "event", nil, "an event type to send (repeatable, or comma-separated)")
	fl.StringVar(&webhook, "webhook", "", "POST signed JSON to this URL")
	fl.StringVar(&slack, "slack", "", "post to this Slack incoming webhook URL")
	fl.StringVar(&teams, "teams", "", "post to this Microsoft Teams incoming webhook URL")
	fl.StringSliceVar(&r.Channel.To, "email-to", nil, "send e-mail to this address (repeatable)")
	fl.StringVar(&r.Channel.SMTP, "smtp", "", "the SMTP server, host:port (with --email-to)")
	fl.StringVar(&r.Channel.From, "from", "", "the sender's address (with --email-to)")
	fl.StringVar(&r.Channel.Username, "smtp-username", "", "log in to the SMTP server as this user (password from --secret-file)")
	fl.StringVar(&secretFile, "secret-file", "", "a file holding the webhook's HMAC key or the SMTP password (never a flag value)")
	return cmd
}

// describeChannel is one phrase: "webhook https://...", "e-mail to a, b via smtp:587".
func describeChannel(c vaultv1.NotificationChannel) string {
	if c.Type == vaultv1.ChannelEmail {
		return fmt.Sprintf("e-mail to %s via %s", strings.Join(c.To, ", "), c.SMTP)
	}
	return c.Type + " " + c.URL
}

func newNotificationListCommand(env Env) *cobra.Command {
	return vaultVerb[[]vaultv1.NotificationRule]{
		call: func(ctx context.Context, c *client.Client, _ []string) ([]vaultv1.NotificationRule, error) {
			return c.ListNotificationRules(ctx)
		},
		text: func(out io.Writer, rules []vaultv1.NotificationRule) error {
			t := newTable(out)
			fmt.Fprintln(t, "NAME\tEVENTS\tCHANNEL\tSIGNED")
			for _, r := range rules {
				signed := "-"
				if r.Channel.Type == vaultv1.ChannelWebhook {
					signed = strconv.FormatBool(r.SecretSet)
				}
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", r.Name, strings.Join(r.Events, ","), describeChannel(r.Channel), signed)
			}
			return t.Flush()
		},
	}.build(env, &cobra.Command{Use: "list", Short: "List notification rules", Args: cobra.NoArgs})
}

func newNotificationShowCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.NotificationRule]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.NotificationRule, error) {
			return c.GetNotificationRule(ctx, args[0])
		},
		text: func(out io.Writer, r vaultv1.NotificationRule) error {
			_, err := fmt.Fprintf(out, "notification rule %q\n  events:   %s\n  channel:  %s\n  secret:   %v\n  created:  %s by %s\n", r.Name,
				strings.Join(r.Events, ", "), describeChannel(r.Channel), r.SecretSet, formatTime(&r.CreatedAt), r.CreatedBy)
			return err
		},
	}.build(env, &cobra.Command{Use: "show NAME", Short: "Show a notification rule", Args: cobra.ExactArgs(1)})
}

func newNotificationDeleteCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a notification rule (its delivery log stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			if err := c.DeleteNotificationRule(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted notification rule %q\n", args[0])
			return nil
		},
	}
}

// errTestFailed makes `cairn notification test` exit non-zero when the channel refused.
var errTestFailed = errors.New("the test notification was not delivered")

func newNotificationTestCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.Delivery]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.Delivery, error) {
			return c.TestNotificationRule(ctx, args[0])
		},
		text: func(out io.Writer, d vaultv1.Delivery) error {
			if d.State != vaultv1.DeliveryDelivered {
				fmt.Fprintf(out, "test notification %d through rule %q: %s: %s\n", d.ID, d.Rule, d.State, d.LastError)
				return errTestFailed
			}
			_, err := fmt.Fprintf(out, "test notification %d delivered through rule %q\n", d.ID, d.Rule)
			return err
		},
	}.build(env, &cobra.Command{Use: "test NAME", Short: "Send a test notification through a rule now", Args: cobra.ExactArgs(1)})
}

func newNotificationLogCommand(env Env) *cobra.Command {
	var f client.DeliveryFilter
	var more bool
	cmd := vaultVerb[[]vaultv1.Delivery]{
		check: func([]string) error {
			return errors.Join(checkChoice("state", f.State, vaultv1.DeliveryStates), checkLimit(f.Limit))
		},
		call: func(ctx context.Context, c *client.Client, _ []string) (list []vaultv1.Delivery, err error) {
			list, more, err = collect(f.Limit, func(limit int, cursor string) (vaultv1.List[vaultv1.Delivery], error) {
				g := f
				g.Limit, g.Cursor = limit, cursor
				return c.ListDeliveries(ctx, g)
			})
			return list, err
		},
		text: func(out io.Writer, list []vaultv1.Delivery) error {
			t := newTable(out)
			fmt.Fprintln(t, "ID\tTIME\tRULE\tEVENT\tSTATE\tATTEMPTS\tSUMMARY\tERROR")
			for _, d := range list {
				fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, formatTime(&d.Event.Time), d.Rule, d.Event.Type, d.State, d.Attempts,
					d.Event.Summary, orDash(d.LastError))
			}
			if err := t.Flush(); err != nil {
				return err
			}
			noteMore(env.Stderr, more, len(list), "deliveries")
			return nil
		},
	}.build(env, &cobra.Command{Use: "log", Short: "The delivery log: every notification sent or being sent, newest first", Args: cobra.NoArgs})
	fl := cmd.Flags()
	fl.StringVar(&f.Rule, "rule", "", "only this rule's deliveries")
	fl.StringVar(&f.State, "state", "", "only deliveries in this state: "+strings.Join(vaultv1.DeliveryStates, ", "))
	fl.IntVar(&f.Limit, "limit", 100, "show at most this many deliveries")
	return cmd
}
