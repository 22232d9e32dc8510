package ui

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// The vaults a session signed in to: the header's switcher and the all-vaults overview
// (docs/design/backup-center.md, "Several vaults").

// vaultsReadAtOnce bounds how many vaults the all-vaults overview reads at the same time.
const vaultsReadAtOnce = 4

// vaultChoice is a vault of the session, as the header's switcher shows it (never its token).
type vaultChoice struct {
	Vault, Role string
	Shown       bool
}

// vaultSummary is one vault's line of the all-vaults overview: its protection, failures and cost.
type vaultSummary struct {
	vaultChoice
	// Error says why the vault could not be read ("": it was).
	Error             string
	Clusters          int
	ProtectedClusters int
	Namespaces        int
	NamespacesCovered int
	Instances         int
	Breached          int
	Jobs, Failed      int // in the last 24 hours; Failed counts the partly failed too
	Usage             vaultv1.InstanceUsage
	Currency          string
	Truncated         bool
}

// vaultsData is the all-vaults overview.
type vaultsData struct {
	Vaults []vaultSummary
	Total  vaultSummary
	Since  time.Time
	// Dropped are the vaults that no longer accept the session's token: the session forgot them.
	Dropped []string
}

// vaults shows every vault the session signed in to, each read with its own token.
func (s *Server) vaults(w http.ResponseWriter, r *http.Request, sess *session, _ *client.Client) error {
	d := vaultsData{Since: s.now().Add(-24 * time.Hour), Vaults: make([]vaultSummary, len(sess.vaults))}
	if gone := r.URL.Query().Get("signedOut"); access.ValidVaultName(gone) == nil {
		if _, held := sess.holding(gone); !held {
			d.Dropped = append(d.Dropped, gone)
		}
	}
	var wg sync.WaitGroup
	limit := make(chan struct{}, vaultsReadAtOnce)
	for i, v := range sess.vaults {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			d.Vaults[i] = s.summarise(r.Context(), v, d.Since)
			d.Vaults[i].Shown = v.Vault == sess.Vault
		})
	}
	wg.Wait()
	if err := r.Context().Err(); err != nil {
		return err
	}
	kept, forgot := d.Vaults[:0], false
	for _, v := range d.Vaults {
		if v.Error == errNotAccepted && !v.Shown {
			d.Dropped = append(d.Dropped, v.Vault)
			sess.drop(v.Vault)
			forgot = true
			continue
		}
		kept = append(kept, v)
		d.Total.add(v)
	}
	d.Vaults = kept
	if forgot {
		if err := s.sessions.update(r.Context(), sess); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "vaults", "", view{Title: "All vaults", Nav: "vaults", Session: sess, Data: d})
	return nil
}

// errNotAccepted is a vault's line when its API refuses the session's token (401).
const errNotAccepted = "not accepted"

// summarise reads one vault's protection, jobs and usage with the session's token for it.
func (s *Server) summarise(ctx context.Context, v sessionVault, since time.Time) vaultSummary {
	out := vaultSummary{vaultChoice: vaultChoice{Vault: v.Vault, Role: v.Role}}
	fail := func(err error) vaultSummary {
		var apiErr *client.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
			out.Error = errNotAccepted
		case errors.As(err, &apiErr):
			out.Error = apiErr.Message
		default:
			s.log.ErrorContext(ctx, "all-vaults overview: a vault was not read", "vault", v.Vault, "error", err.Error())
			out.Error = "the vault could not be read: " + err.Error()
		}
		return out
	}
	c, err := s.clientFor(v.Token)
	if err != nil {
		return fail(err)
	}
	clusters, instances, truncated, err := protection(ctx, c)
	if err != nil {
		return fail(err)
	}
	counts, err := c.JobCounts(ctx, since)
	if err != nil {
		return fail(err)
	}
	usage, err := c.Usage(ctx)
	if err != nil {
		return fail(err)
	}
	comp := assessCompliance(clusters, instances)
	out.Clusters, out.ProtectedClusters = len(comp.Clusters), comp.ProtectedClusters
	out.Namespaces, out.NamespacesCovered = comp.NamespacesKnown, comp.NamespacesProtected
	out.Instances, out.Breached = len(instances), len(breached(instances))
	for state, n := range counts.States {
		out.Jobs += n
		if state == vaultv1.JobFailed || state == vaultv1.JobPartiallyFailed {
			out.Failed += n
		}
	}
	out.Usage, out.Currency, out.Truncated = usage.Total, usage.Prices.Currency, truncated
	return out
}

// add sums a vault's line into the total (the server prices every vault in one currency).
func (t *vaultSummary) add(v vaultSummary) {
	if v.Error != "" {
		return
	}
	t.Clusters += v.Clusters
	t.ProtectedClusters += v.ProtectedClusters
	t.Namespaces += v.Namespaces
	t.NamespacesCovered += v.NamespacesCovered
	t.Instances += v.Instances
	t.Breached += v.Breached
	t.Jobs += v.Jobs
	t.Failed += v.Failed
	t.Usage.StoredBytes += v.Usage.StoredBytes
	t.Usage.SnapshotBytes += v.Usage.SnapshotBytes
	t.Usage.CopyBytes += v.Usage.CopyBytes
	t.Usage.MonthlyCost += v.Usage.MonthlyCost
	t.Truncated = t.Truncated || v.Truncated
	t.Currency = v.Currency
}

// switchVault makes the session's pages show another vault it signed in to.
func (s *Server) switchVault(w http.ResponseWriter, r *http.Request, sess *session, _ *client.Client) error {
	name := r.PostFormValue("vault")
	v, ok := sess.holding(name)
	if !ok {
		s.renderError(w, r, sess, http.StatusNotFound, "this session has not signed in to vault "+name+": add it with one of its tokens on the Vaults page")
		return nil
	}
	return s.showVault(w, r, sess, v.Token, v.SSO)
}

// addVault signs the session in to one more vault with a token of it, and shows that vault.
func (s *Server) addVault(w http.ResponseWriter, r *http.Request, sess *session, _ *client.Client) error {
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		s.renderError(w, r, sess, http.StatusUnprocessableEntity, "enter an API token of the vault to add (cairn token create in that vault makes one)")
		return nil
	}
	return s.showVault(w, r, sess, token, false)
}

// showVault checks token with the API's whoami, then has the session hold its vault and show it.
// A token the vault no longer accepts is forgotten, not the session.
func (s *Server) showVault(w http.ResponseWriter, r *http.Request, sess *session, token string, minted bool) error {
	c, err := s.clientFor(token)
	if err != nil {
		return err
	}
	me, err := c.WhoAmI(r.Context())
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		if i := slices.IndexFunc(sess.vaults, func(v sessionVault) bool { return v.Token == token }); i >= 0 && sess.vaults[i].Vault != sess.Vault {
			sess.drop(sess.vaults[i].Vault)
			if err := s.sessions.update(r.Context(), sess); err != nil {
				return err
			}
		}
		s.renderError(w, r, sess, http.StatusUnauthorized, "that vault does not accept the token: "+apiErr.Message)
		return nil
	}
	if err != nil {
		return err
	}
	if me.Role == access.RoleAdmin {
		s.renderError(w, r, sess, http.StatusForbidden,
			"this is the server administrator's token, which manages vaults and reads none: add a vault with one of its own tokens")
		return nil
	}
	if held, ok := sess.holding(me.Vault); ok && held.SSO && held.Token != token {
		s.revokeSSO(r.Context(), held.Token) // replaced: signing out would no longer find it
	}
	sess.show(sessionVault{Vault: me.Vault, Name: me.Name, Role: me.Role, Token: token, SSO: minted})
	if err := s.sessions.update(r.Context(), sess); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
