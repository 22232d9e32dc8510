package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/client"
)

// search goes straight to what a name names: a job (by number), an instance, a cluster or a
// recovery point, tried in that order; else to the instances whose names contain it.
func (s *Server) search(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	ctx := r.Context()
	found := func(err error) (bool, error) {
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusNotFound || apiErr.Status == http.StatusBadRequest) {
			return false, nil
		}
		return err == nil, err
	}
	candidates := []struct {
		path  string
		exist func() error
	}{
		{"/instances/", func() error { _, err := c.GetInstance(ctx, q); return err }},
		{"/clusters/", func() error { _, err := c.GetCluster(ctx, q); return err }},
		{"/recovery-points/", func() error { _, err := c.GetRecoveryPoint(ctx, q); return err }},
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil && id > 0 {
		if ok, err := found(func() error { _, err := c.GetJob(ctx, id); return err }()); err != nil || ok {
			if ok {
				http.Redirect(w, r, "/jobs/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
			}
			return err
		}
	}
	for _, cand := range candidates {
		ok, err := found(cand.exist())
		if err != nil {
			return err
		}
		if ok {
			http.Redirect(w, r, cand.path+url.PathEscape(q), http.StatusSeeOther)
			return nil
		}
	}
	http.Redirect(w, r, "/instances?name="+url.QueryEscape(q), http.StatusSeeOther)
	return nil
}
