// Package install puts cairn's agent into a cluster and takes it out again (docs/design/vault.md,
// "Installing the agent"): the trust grant (package trustgrant: namespace, ServiceAccount,
// ClusterRole with what backup and restore need, ClusterRoleBinding), the CRDs the binary carries,
// the agent's Secrets (token, repository passphrases, storage credentials) and its Deployment.
//
// The same objects are written down twice more, for people who install without the CLI:
// deploy/agent (plain YAML) and deploy/helm/cairn-agent (a Helm chart). Tests render both and
// compare them with what this package builds, so the three do not drift.
package install
