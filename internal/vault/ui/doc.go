// Package ui is the Backup center: the vault's web dashboard (docs/design/backup-center.md).
//
// Pages are rendered on the server from html/template and updated in place by htmx; every read
// and every action goes through the vault's own API handler, in process, with the signed-in
// person's token, so the API's role checks, validation and audit log apply to the dashboard
// unchanged. The assets are embedded; nothing is loaded from elsewhere.
package ui
