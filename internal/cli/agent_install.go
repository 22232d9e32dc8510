package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/cairnbackup/cairn/internal/agent/install"
	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

func newAgentInstallCommand(target *kube.Target, env Env) *cobra.Command {
	var (
		opts               install.Options
		tokenFile, envFile string
		pullPolicy         string
		secrets            []string
		runAsUser          int64
		dryRun             bool
		hostPaths          []string
	)
	cmd := &cobra.Command{
		Use:   "install --vault URL --token-file FILE --image IMAGE",
		Short: "Install the agent into the cluster: trust grant, CRDs, Secrets and its Deployment",
		Long: `Install (or update: it is idempotent) the agent into the cluster --kubeconfig/--context points at:

  - the trust grant: the namespace (default cairn-system), the ServiceAccount cairn-agent, the
    ClusterRole cairn-agent with what backup and restore need, and its ClusterRoleBinding; with
    --grant backup-only, a ClusterRole that reads, snapshots and runs hooks but writes nothing
    cluster-wide, and a Role for the data movers in the agent's namespace (restores then need
    cairn agent grant-restore);
  - the BackupHook and RestoreHook CRDs the binary carries;
  - the Secret cairn-agent-token with the agent token (read from --token-file: a token is never a
    flag value), the Secret cairn-agent-secrets with repository passphrases (--secret), the Secret
    cairn-storage-credentials with storage credentials as environment variables (--storage-env-file);
  - the Deployment cairn-agent (one replica) running "cairn agent run" in the image --image.

It then waits until the agent runs (--timeout), and says why not when it does not. With --dry-run it
prints the manifests, Secret values redacted, and touches nothing. The ClusterRole's rules, each with
its reason, are in docs/design/vault.md ("Trust grant").`,
		Example: `  cairn agent install --vault https://vault.example:8443 --token-file agent.token \
      --image registry.example/cairn:v0.3.0 --secret prod-repo=./prod-repo.passphrase \
      --storage-env-file ./azure.env

  # cairn's local one-node cluster: a vault on the host's 127.0.0.1, file:// storage in /srv/backups
  cairn agent install --vault http://127.0.0.1:8443 --token-file agent.token --image local/cairn-agent:dev \
      --image-pull-policy Never --host-network --api-server 127.0.0.1:6443 --host-path /srv/backups --run-as-user 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := trustgrant.ValidGrant(opts.Grant); err != nil {
				return fmt.Errorf("--grant: %w", err)
			}
			opts.HostPaths = hostPaths
			opts.PullPolicy = corev1.PullPolicy(pullPolicy)
			if cmd.Flags().Changed("run-as-user") {
				opts.RunAsUser = &runAsUser
			}
			switch {
			case tokenFile != "":
				token, err := readTokenFile(tokenFile)
				if err != nil {
					return err
				}
				opts.Token = token
			case dryRun:
				opts.Token = []byte(install.Redacted)
			default:
				return errors.New("no agent token: give --token-file FILE (the token cairn cluster register printed)")
			}
			var err error
			if opts.Secrets, err = readSecretFlags(secrets); err != nil {
				return err
			}
			if envFile != "" {
				if opts.StorageEnv, err = readEnvFile(envFile); err != nil {
					return err
				}
			}
			if dryRun {
				out, err := install.Manifests(opts, true)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(cmd.OutOrStdout(), out)
				return err
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			opts.Out = cmd.OutOrStdout()
			if err := install.Install(cmd.Context(), cfg, opts); err != nil {
				return err
			}
			ns := opts.Namespace
			if ns == "" {
				ns = trustgrant.DefaultNamespace
			}
			if opts.Grant == trustgrant.GrantBackupOnly {
				fmt.Fprintf(cmd.OutOrStdout(), "grant backup-only: %s; for restores: %s\n", trustgrant.Describe(opts.Grant), trustgrant.RestoreGrantFix(ns))
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "the agent runs: kubectl -n %s logs deploy/%s shows what it does\n", ns, trustgrant.AgentName)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.VaultURL, "vault", "", "the vault's URL the agent connects out to, e.g. https://vault.example:8443 (required)")
	fl.StringVar(&tokenFile, "token-file", "", "file holding the agent token cairn cluster register printed (required)")
	fl.StringVar(&opts.Image, "image", "", "the agent image: the static cairn binary at /cairn (make agent-image builds one) (required)")
	fl.StringVar(&pullPolicy, "image-pull-policy", string(corev1.PullIfNotPresent), "Always, IfNotPresent, or Never for an image imported into the nodes by hand")
	fl.StringVarP(&opts.Namespace, "namespace", "n", trustgrant.DefaultNamespace, "namespace the agent runs in")
	fl.StringArrayVar(&secrets, "secret", nil, "NAME=FILE: a repository passphrase secret, as a storage location's passphraseSecret names it (repeatable)")
	fl.StringVar(&envFile, "storage-env-file", "", "file of KEY=VALUE lines: storage credentials the agent gets as environment (AWS_*, AZURE_STORAGE_*)")
	fl.BoolVar(&opts.HostNetwork, "host-network", false, "run the agent in the node's network (one-node clusters: reach a vault on the host's 127.0.0.1)")
	fl.StringArrayVar(&hostPaths, "host-path", nil, "host directory mounted at the same path in the agent, for file:// storage on a one-node cluster (repeatable)")
	fl.Int64Var(&runAsUser, "run-as-user", install.DefaultRunAsUser, "the agent's uid; 0 (root) for file:// storage in a root-owned host directory")
	fl.StringVar(&opts.APIServer, "api-server", "", "HOST:PORT of the Kubernetes API for the agent, instead of the kubernetes Service (clusters without a Service proxy, like cairn's local cluster)")
	fl.StringVar(&opts.Grant, "grant", trustgrant.GrantFull, "the agent's trust grant: "+trustgrant.GrantChoices()+"; see cairn agent grant-restore")
	fl.IntVar(&opts.Concurrency, "concurrency", 1, "jobs the agent runs at once (backups, restores, verifications; each holds its own buffers)")
	fl.BoolVar(&opts.NoRBACEscalation, "no-rbac-escalation", false, "leave escalate and bind out of the ClusterRole: restoring Roles, ClusterRoles and bindings that grant more than the agent holds then fails")
	fl.BoolVar(&dryRun, "dry-run", false, "print the manifests (Secret values redacted) and touch nothing")
	fl.DurationVar(&opts.Timeout, "timeout", install.DefaultTimeout, "how long to wait for the agent to run")
	return cmd
}

func newAgentUninstallCommand(target *kube.Target, env Env) *cobra.Command {
	opts := install.UninstallOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the agent from the cluster: Deployment, Secrets, trust grant and namespace",
		Long: `Remove what cairn agent install made: the Deployment, the Secrets (agent token, passphrases,
storage credentials), the ClusterRoleBinding and ClusterRole, the backup-only grant's Role and the
restore grant if there, the ServiceAccount and the namespace (only when the install made it). What is already gone is skipped. The CRDs stay unless
--remove-crds is given. The vault keeps the cluster's registration: revoke it there
(cairn cluster revoke) if the agent is not coming back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			opts.Out = cmd.OutOrStdout()
			return install.Uninstall(cmd.Context(), cfg, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Namespace, "namespace", "n", trustgrant.DefaultNamespace, "namespace the agent runs in")
	fl.BoolVar(&opts.RemoveCRDs, "remove-crds", false, "also delete the BackupHook and RestoreHook CRDs: every BackupHook and RestoreHook object in the cluster is deleted with them")
	fl.BoolVar(&opts.Wait, "wait", true, "wait until the agent's pods and namespace are gone")
	fl.DurationVar(&opts.Timeout, "timeout", install.DefaultTimeout, "how long to wait")
	return cmd
}

// readTokenFile reads an agent token file.
func readTokenFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --token-file: %w", err)
	}
	token := bytes.TrimSpace(data)
	if len(token) == 0 {
		return nil, fmt.Errorf("--token-file %s is empty: it should hold the token cairn cluster register printed", path)
	}
	return token, nil
}

// readSecretFlags reads --secret NAME=FILE values; the file's trailing newline is dropped, as the
// agent does when it reads the mounted file.
func readSecretFlags(flags []string) (map[string][]byte, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string][]byte{}
	for _, f := range flags {
		name, file, ok := strings.Cut(f, "=")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("--secret %q: give NAME=FILE, e.g. --secret prod-repo=./prod-repo.passphrase", f)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--secret %s is given twice", name)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--secret %s: %w", name, err)
		}
		value := bytes.TrimRight(data, "\r\n")
		if len(value) == 0 {
			return nil, fmt.Errorf("--secret %s: file %s is empty", name, file)
		}
		out[name] = value
	}
	return out, nil
}

// readEnvFile reads KEY=VALUE lines (blank lines and lines starting with # are skipped; values are
// taken as they stand, quotes included, as docker's --env-file does).
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read --storage-env-file: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--storage-env-file %s line %d: give KEY=VALUE", path, n)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("--storage-env-file %s line %d: %s is set twice", path, n, key)
		}
		out[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read --storage-env-file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--storage-env-file %s holds no KEY=VALUE line", path)
	}
	return out, nil
}

func newAgentGrantRestoreCommand(target *kube.Target) *cobra.Command {
	opts := install.RestoreGrantOptions{}
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "grant-restore",
		Short: "Give an agent holding the backup-only grant what restores need, until revoke-restore",
		Long: `Apply, with your kubeconfig's credentials, the restore grant to an agent installed with
--grant backup-only: the ClusterRole cairn-agent-restore (create, update, patch and delete on every
resource, and escalate and bind on roles unless --no-rbac-escalation) and its ClusterRoleBinding to
the agent's ServiceAccount. Restores, test restores and their pre-flight then work; take it back
with cairn agent revoke-restore when they are done. --dry-run prints the manifest
(deploy/agent/cairn-agent-restore.yaml is the one of cairn-system) and touches nothing.`,
		Example: `  cairn agent grant-restore --context prod
  cairn restore create --from shop-nightly-20250102023000 --wait
  cairn agent revoke-restore --context prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun {
				doc, err := install.RestoreGrantYAML(opts.Namespace, !opts.NoRBACEscalation)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(cmd.OutOrStdout(), doc)
				return err
			}
			if err := trustgrant.ValidNamespace(opts.Namespace); err != nil {
				return fmt.Errorf("--namespace: %w", err)
			}
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			opts.Out = cmd.OutOrStdout()
			if err := install.RestoreGrant(cmd.Context(), cfg, opts); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "the agent may restore now; take the grant back when the restores are done: cairn agent revoke-restore")
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Namespace, "namespace", "n", trustgrant.DefaultNamespace, "namespace the agent runs in")
	fl.BoolVar(&opts.NoRBACEscalation, "no-rbac-escalation", false, "leave escalate and bind out: restoring RBAC objects granting more than the agent holds then fails")
	fl.BoolVar(&dryRun, "dry-run", false, "print the restore grant's manifest and touch nothing")
	return cmd
}

func newAgentRevokeRestoreCommand(target *kube.Target) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-restore",
		Short: "Take the restore grant back: the agent holding the backup-only grant can no longer restore",
		Long: `Delete, with your kubeconfig's credentials, the ClusterRoleBinding and ClusterRole
cairn-agent-restore that cairn agent grant-restore applied. What is gone already is skipped. A
restore still running fails at its next write.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			if err := install.RevokeRestoreGrant(cmd.Context(), cfg, cmd.OutOrStdout()); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "the restore grant is gone: the agent backs up only")
			return err
		},
	}
}
