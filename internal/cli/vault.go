package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/dbcopy"
	"github.com/cairnbackup/cairn/internal/vault/scheduler"
)

func newVaultCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "vault", Short: "The vault, the management plane: serve it, back its database up, manage its vaults"}
	var opts vault.Options
	var lf logFlags
	copyCred := credentialFiles{passphraseFlag: "--db-backup-passphrase-file", keyFlag: "--db-backup-key-file"}
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the vault's REST API (SQLite in --data-dir)",
		Long: `Serve the vault's REST API. On its first start it creates the first vault and writes a contributor token
to <data-dir>/admin.token; use it with "cairn login" and make tokens for others with "cairn token create".
It also writes the server administrator's token to <data-dir>/server-admin.token: logged in with it,
"cairn vault create|list|delete" manage the server's vaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := lf.logger(env.Stderr)
			if err != nil {
				return err
			}
			opts.Logger, opts.Now = logger, env.now
			if opts.DatabaseCopies.Storage != "" {
				if opts.DatabaseCopies.Credential, err = readCredential(copyCred, env.Getenv); err != nil {
					return err
				}
				opts.DatabaseCopies.Getenv = env.Getenv
			}
			return vault.Serve(cmd.Context(), opts)
		},
	}
	lf.register(serve)
	fl := serve.Flags()
	fl.StringVar(&opts.DataDir, "data-dir", "cairn-vault", "directory for the database and the first token")
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:8443", "address to serve on")
	fl.StringVar(&opts.TLSCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key serves HTTPS")
	fl.StringVar(&opts.TLSKey, "tls-key", "", "TLS private key (PEM)")
	fl.StringVar(&opts.Vault, "vault", "", "the first vault of a new server, whose token goes to <data-dir>/admin.token (default \"default\"); later vaults are made while it runs: cairn vault create")
	fl.StringVar(&opts.Database, "database", "", "PostgreSQL URL (postgres://user@host/db) to use instead of SQLite in --data-dir; the password comes from PGPASSWORD or ~/.pgpass")
	fl.DurationVar(&opts.Tick, "tick", 15*time.Second, "how often the scheduler looks for due backups, expired recovery points and silent agents")
	fl.DurationVar(&opts.API.Lease, "job-lease", 60*time.Second, "how long a job stays its agent's without a progress report")
	fl.StringVar(&opts.API.Prices.Currency, "currency", "USD", "currency of the cost estimate")
	fl.Float64Var(&opts.API.Prices.NamespaceMonth, "price-namespace-month", 0, "fee per protected namespace per month, for the cost estimate")
	fl.Float64Var(&opts.API.Prices.StorageGiBMonth, "price-storage-gib-month", 0, "price per GiB-month of blob storage")
	fl.Float64Var(&opts.API.Prices.SnapshotGiBMonth, "price-snapshot-gib-month", 0, "price per GiB-month of volume snapshots")
	fl.Float64Var(&opts.API.Prices.CopyGiBMonth, "price-copy-gib-month", -1, "price per GiB-month of volume copies in the backup storage (default: --price-storage-gib-month)")
	fl.DurationVar(&opts.API.TokenLifetime, "token-lifetime", api.DefaultTokenLifetime, "how long a token works when its maker does not say (the first token too)")
	fl.BoolVar(&opts.API.RequireApproval, "require-approval", false, "hold destructive calls (stop with data deletion, delete an instance or a recovery point, revoke a cluster) until a second contributor approves them")
	fl.DurationVar(&opts.API.ApprovalTTL, "approval-ttl", api.DefaultApprovalTTL, "how long an approval request waits before it expires")
	fl.IntVar(&opts.API.SoftDeleteDays, "soft-delete-days", api.DefaultSoftDeleteDays, "how many days recovery points a person deleted are kept, and can be brought back, before they are purged")
	fl.DurationVar(&opts.AuditRetention, "audit-retention", scheduler.DefaultAuditRetention, "how long audit entries are kept")
	fl.StringVar(&opts.OIDCConfig, "oidc-config", "", "single sign-on through an OpenID Connect provider: a YAML file of its issuer, clients and the roles its groups give per vault (docs/design/vault.md, \"Single sign-on\")")
	fl.StringVar(&opts.DatabaseCopies.Storage, "db-backup-storage", "", "copy the SQLite database on a schedule into a cairn repository at this storage URL (docs/design/vault.md, \"Backups of the vault's database\")")
	fl.StringVar(&copyCred.passphrase, "db-backup-passphrase-file", "", "file holding the passphrase of the copies' repository (default: $CAIRN_PASSPHRASE)")
	fl.StringVar(&copyCred.key, "db-backup-key-file", "", "file holding at least 32 bytes of key material for the copies' repository, instead of a passphrase")
	fl.DurationVar(&opts.DatabaseCopies.Every, "db-backup-every", dbcopy.DefaultEvery, "interval between copies of the database, at multiples of it on the clock")
	fl.IntVar(&opts.DatabaseCopies.Keep, "db-backup-keep", dbcopy.DefaultKeep, "how many copies of the database are kept, newest first")
	cmd.AddCommand(serve, newIssueTokenCommand(env), newVaultRecoverCommand(env), newVaultDatabaseCommand(env))
	cmd.AddCommand(newVaultAdminCommands(env)...)
	return cmd
}

// vaultConfig is what `cairn login` remembers.
type vaultConfig struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func configPath(env Env) (string, error) {
	dir := env.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := env.Getenv("HOME")
		if home == "" {
			return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: cannot place the login file")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "cairn", "vault.json"), nil
}

// vaultClient is the client of the vault `cairn login` chose; CAIRN_VAULT_URL and
// CAIRN_VAULT_TOKEN override it.
func vaultClient(env Env) (*client.Client, error) {
	var cfg vaultConfig
	if path, err := configPath(env); err == nil {
		if data, err := os.ReadFile(path); err == nil {
			if err := json.Unmarshal(data, &cfg); err != nil {
				return nil, fmt.Errorf("read %s: %w (run cairn login again)", path, err)
			}
		}
	}
	if u := env.Getenv("CAIRN_VAULT_URL"); u != "" {
		cfg.URL = u
	}
	if t := env.Getenv("CAIRN_VAULT_TOKEN"); t != "" {
		cfg.Token = t
	}
	if cfg.URL == "" || cfg.Token == "" {
		return nil, errors.New("not logged in to a vault: run cairn login --vault URL --token-file FILE (or set CAIRN_VAULT_URL and CAIRN_VAULT_TOKEN)")
	}
	return client.New(cfg.URL, cfg.Token, nil)
}

func newLoginCommand(env Env) *cobra.Command {
	var url, tokenFile, vaultName string
	var useSSO bool
	cmd := &cobra.Command{
		Use:   "login --vault URL (--token-file FILE | --sso)",
		Short: "Remember a vault and a token for the vault commands (checked with the vault first)",
		Long: `Remember a vault and a token for the vault commands, in ~/.config/cairn/vault.json ($XDG_CONFIG_HOME/cairn/vault.json
when set), readable by you alone.

With --token-file (or CAIRN_VAULT_TOKEN) the token is one a contributor made (cairn token create).
With --sso you sign in through the vault's OpenID provider instead (the vault must run with
--oidc-config): cairn prints a URL and a code, you confirm the code in a browser, and the vault
mints a token of the role your groups give you, valid for the vault's SSO token lifetime (12 h by
default). No terminal or browser is needed on this machine: open the URL anywhere.`,
		Example: `  cairn login --vault https://vault.example:8443 --token-file ~/cairn.token
  cairn login --vault https://vault.example:8443 --sso`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token := env.Getenv("CAIRN_VAULT_TOKEN")
			if useSSO && tokenFile != "" {
				return errors.New("give --sso or --token-file, not both")
			}
			if vaultName != "" && !useSSO {
				return errors.New("--vault-name goes with --sso (a token belongs to one vault already)")
			}
			if tokenFile != "" {
				data, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("read --token-file: %w", err)
				}
				token = strings.TrimSpace(string(data))
			}
			var expires time.Time
			if useSSO {
				if url == "" {
					return errors.New("give --vault URL with --sso")
				}
				minted, err := ssoLogin(cmd.Context(), env.Stderr, url, vaultName)
				if err != nil {
					return err
				}
				token, expires = minted.Token, minted.ExpiresAt
			}
			if url == "" || token == "" {
				return errors.New("give --vault URL and --token-file FILE (or CAIRN_VAULT_TOKEN, or --sso to sign in through the vault's OpenID provider); tokens never go on the command line")
			}
			c, err := client.New(url, token, nil)
			if err != nil {
				return err
			}
			who, err := c.WhoAmI(cmd.Context())
			if err != nil {
				return err
			}
			path, err := configPath(env)
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(vaultConfig{URL: url, Token: token}, "", "  ")
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
			}
			if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			// WriteFile keeps the mode of a file that exists: a token is for its owner alone.
			if err := os.Chmod(path, 0o600); err != nil {
				return fmt.Errorf("make %s private: %w", path, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in to vault %q at %s as %s (%s)\n", who.Vault, url, who.Name, who.Role)
			if !expires.IsZero() {
				fmt.Fprintf(cmd.OutOrStdout(), "the token expires at %s: run cairn login --sso again then\n", expires.Local().Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "vault", "", "the vault's URL, e.g. https://vault.example:8443")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the token (default: $CAIRN_VAULT_TOKEN)")
	cmd.Flags().BoolVar(&useSSO, "sso", false, "sign in through the vault's OpenID provider (single sign-on, device flow) instead of with a token")
	cmd.Flags().StringVar(&vaultName, "vault-name", "", "with --sso: the vault to sign in to, when your groups give you roles in several")
	return cmd
}
