// Package vault runs the management plane (`cairn vault serve`): the store, the REST API and, as
// they arrive, the scheduler and retention. docs/design/vault.md describes it.
package vault
