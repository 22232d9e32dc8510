package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// restoreData is the restore form: the recovery point, the clusters to restore into, the
// values as entered and what was wrong with them.
type restoreData struct {
	Point    vaultv1.RecoveryPoint
	Clusters []vaultv1.Cluster
	Form     restoreForm
	Error    string
	Field    string
}

// restoreForm is the form's values as text.
type restoreForm struct {
	RecoveryPoint    string
	TargetCluster    string
	Namespaces       string
	NamespaceMapping string
	ConflictPolicy   string
	Volumes          string
	RestoreHooks     string
	DryRun           bool
}

// readRestoreForm reads the form's text fields, from a query or a posted form.
func readRestoreForm(get func(string) string) restoreForm {
	return restoreForm{RecoveryPoint: get("recoveryPoint"), TargetCluster: get("targetCluster"), Namespaces: get("namespaces"),
		NamespaceMapping: get("namespaceMapping"), ConflictPolicy: get("conflictPolicy"), Volumes: get("volumes"),
		RestoreHooks: get("restoreHooks")}
}

func (s *Server) restoreForm(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	q := r.URL.Query()
	f := readRestoreForm(q.Get)
	f.DryRun = q.Get("dryRun") != "false" // a dry run unless the link says otherwise
	if f.RecoveryPoint == "" {
		return &client.APIError{Status: http.StatusBadRequest, Message: "choose a recovery point to restore first: open one from the recovery points page"}
	}
	return s.showRestoreForm(w, r, sess, c, http.StatusOK, f, nil)
}

func (s *Server) showRestoreForm(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client, status int, f restoreForm, formErr error) error {
	rp, err := c.GetRecoveryPoint(r.Context(), f.RecoveryPoint)
	if err != nil {
		return err
	}
	clusters, _, err := listAll(r.Context(), overviewMaxClusters, func(ctx context.Context, cursor string) (vaultv1.List[vaultv1.Cluster], error) {
		return c.ListClusters(ctx, client.ClusterFilter{Limit: 500, Cursor: cursor})
	}, nil)
	if err != nil {
		return err
	}
	if f.TargetCluster == "" {
		f.TargetCluster = rp.Cluster
	}
	d := restoreData{Point: rp, Form: f}
	for _, cl := range clusters {
		if cl.Health != vaultv1.HealthRevoked {
			d.Clusters = append(d.Clusters, cl)
		}
	}
	if formErr != nil {
		d.Error = formErr.Error()
		var apiErr *client.APIError
		if errors.As(formErr, &apiErr) {
			d.Error, d.Field = apiErr.Message, apiErr.Field
		}
	}
	s.render(w, r, status, "restore", "", view{Title: "Restore " + rp.Name, Nav: "recovery-points", Session: sess, Data: d})
	return nil
}

// restore queues the restore the form describes and shows its job; bad input shows the form
// again with what is wrong.
func (s *Server) restore(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	f := readRestoreForm(r.PostFormValue)
	f.DryRun = r.PostFormValue("dryRun") == "true" // an unchecked box sends nothing
	req, err := f.request()
	if err != nil {
		return s.showRestoreForm(w, r, sess, c, http.StatusUnprocessableEntity, f, err)
	}
	j, err := c.Restore(r.Context(), req)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnprocessableEntity || apiErr.Status == http.StatusBadRequest) {
		return s.showRestoreForm(w, r, sess, c, apiErr.Status, f, err)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
	return nil
}

// request turns the form into the API's restore request.
func (f restoreForm) request() (vaultv1.RestoreRequest, error) {
	mapping, err := parseMapping(f.NamespaceMapping)
	if err != nil {
		return vaultv1.RestoreRequest{}, err
	}
	return vaultv1.RestoreRequest{RecoveryPoint: f.RecoveryPoint, TargetCluster: f.TargetCluster, Options: vaultv1.RestoreOptions{
		IncludeNamespaces: splitList(f.Namespaces),
		NamespaceMapping:  mapping,
		ConflictPolicy:    f.ConflictPolicy,
		Volumes:           f.Volumes,
		RestoreHooks:      splitList(f.RestoreHooks),
		DryRun:            f.DryRun,
	}}, nil
}

// splitList reads "a, b c" as [a b c].
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// parseMapping reads "from=to, other=copy".
func parseMapping(s string) (map[string]string, error) {
	var out map[string]string
	for _, pair := range splitList(s) {
		from, to, ok := strings.Cut(pair, "=")
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("namespace mapping %q: write each as FROM=TO, separated by commas (shop=shop-copy)", pair)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[from] = to
	}
	return out, nil
}

// dryRunDone says whether a job is a dry run that succeeded, which the job page offers to
// repeat for real.
func dryRunDone(j vaultv1.Job) bool {
	return j.Kind == agentv1.KindRestore && j.Spec.Restore != nil && j.Spec.Restore.Options.DryRun && j.State == vaultv1.JobSucceeded
}

// restoreForReal repeats a dry run's restore, with exactly its options, without dry run.
func (s *Server) restoreForReal(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := c.GetJob(r.Context(), id)
	if err != nil {
		return err
	}
	if !dryRunDone(j) {
		return &client.APIError{Status: http.StatusConflict, Message: fmt.Sprintf("job %d is not a finished, successful restore dry run: only those can be repeated for real", id)}
	}
	opts := j.Spec.Restore.Options
	opts.DryRun = false
	real, err := c.Restore(r.Context(), vaultv1.RestoreRequest{RecoveryPoint: j.Spec.Restore.RecoveryPoint, TargetCluster: j.Cluster, Options: opts})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(real.ID, 10), http.StatusSeeOther)
	return nil
}
