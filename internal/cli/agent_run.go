package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/agent/install"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/buildinfo"
	"github.com/cairnbackup/cairn/internal/kube"
)

func newAgentRunCommand(target *kube.Target, env Env) *cobra.Command {
	var vaultURL, tokenFile, secretsDir, metricsAddr string
	var concurrency int
	var mf moverFlags
	var lf logFlags
	cmd := &cobra.Command{
		Use:   "run --vault URL --token-file FILE",
		Short: "Run the agent: claim this cluster's jobs from the vault and run them",
		Long: `Run the agent, the vault's hands in this cluster. It connects out to the vault with its agent
token (from --token-file, else $CAIRN_AGENT_TOKEN), heartbeats, claims the jobs the vault queued for
this cluster (backups, restores, retention deletes, verifications) and runs them until stopped
(SIGTERM or Ctrl-C: running jobs are cancelled and reported failed).

The cluster is the in-cluster one when running in a pod without --kubeconfig, else the kubeconfig's.
Storage credentials come from the environment (AWS_*, AZURE_STORAGE_*); a repository passphrase
named by an instance's passphraseSecret from the file of that name in --secrets-dir, else from
$CAIRN_SECRET_<NAME> (upper case, '-' and '.' as '_').

Prometheus metrics (jobs, their items and bytes, storage operations, retries and errors, calls to
the vault, hook runs) are served on GET /metrics at --metrics-address, without authentication:
they name job kinds and storage schemes, nothing secret. When the address cannot be listened on,
the agent logs why and runs without them.`,
		Example: `  cairn agent run --vault https://vault.example:8443 --token-file /etc/cairn/agent-token --secrets-dir /etc/cairn/secrets`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if vaultURL == "" {
				return errors.New("name the vault with --vault URL")
			}
			if err := agent.ValidConcurrency(concurrency); err != nil {
				return fmt.Errorf("--%w", err)
			}
			if metricsAddr != "" {
				if _, _, err := net.SplitHostPort(metricsAddr); err != nil {
					return fmt.Errorf("--metrics-address %q: use HOST:PORT or :PORT (empty: no metrics): %w", metricsAddr, err)
				}
			}
			logger, err := lf.logger(env.Stderr)
			if err != nil {
				return err
			}
			token, err := agentToken(tokenFile, env)
			if err != nil {
				return err
			}
			cfg, err := agentRESTConfig(target, env)
			if err != nil {
				return err
			}
			mover, err := mf.options()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("mover-namespace") {
				mover.Namespace = "" // the agent's own namespace
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := agent.Options{
				VaultURL: vaultURL, Token: token, Config: cfg, SecretsDir: secretsDir, Getenv: env.Getenv,
				Version: buildinfo.Get().Version, Concurrency: concurrency, Mover: mover,
				Metrics: metrics.New(), Logger: logger, Now: env.Now,
			}
			if metricsAddr != "" {
				// Backups matter more than their metrics: an address taken by another process
				// leaves the agent running without them.
				var lc net.ListenConfig
				if opts.MetricsListener, err = lc.Listen(ctx, "tcp", metricsAddr); err != nil {
					logger.ErrorContext(ctx, "metrics not served: cannot listen on --metrics-address", "addr", metricsAddr, "error", err)
				}
			}
			return agent.Run(ctx, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&vaultURL, "vault", "", "the vault's URL, e.g. https://vault.example:8443 (required)")
	fl.StringVar(&tokenFile, "token-file", "", "file holding the agent token of the cluster's trust grant (default: $CAIRN_AGENT_TOKEN)")
	fl.StringVar(&secretsDir, "secrets-dir", "", "directory with one file per repository passphrase secret (a mounted Secret)")
	fl.IntVar(&concurrency, "concurrency", 1, "jobs run at once")
	fl.StringVar(&metricsAddr, "metrics-address", fmt.Sprintf(":%d", install.MetricsPort), "serve Prometheus metrics on GET /metrics at this address (empty: none)")
	mf.register(cmd)
	lf.register(cmd)
	return cmd
}

// agentToken reads the agent token from the file, else from CAIRN_AGENT_TOKEN. It is never a flag
// value: command lines are visible to every user of the machine.
func agentToken(file string, env Env) (string, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read --token-file: %w", err)
		}
		token := strings.TrimSpace(string(data))
		if token == "" {
			return "", fmt.Errorf("--token-file %s is empty", file)
		}
		return token, nil
	}
	if token := strings.TrimSpace(env.Getenv("CAIRN_AGENT_TOKEN")); token != "" {
		return token, nil
	}
	return "", errors.New("no agent token: give --token-file FILE or set CAIRN_AGENT_TOKEN (the token cairn cluster register printed)")
}

// agentRESTConfig is the in-cluster configuration when the agent runs in a pod and no kubeconfig
// is named, else the target's kubeconfig.
func agentRESTConfig(target *kube.Target, env Env) (*rest.Config, error) {
	if target.Kubeconfig == "" && env.Getenv("KUBECONFIG") == "" && env.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster configuration (or give --kubeconfig): %w", err)
		}
		target.Tune(cfg, "cairn-agent")
		return cfg, nil
	}
	return target.RESTConfig()
}
