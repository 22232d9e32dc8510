package ui

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// Browsing a volume's copy and downloading one file (docs/design/backup-center.md, "Browse
// files"): the API's browse, fetch and content routes, which run jobs on the recovery point's
// agent.

// filesData is the Browse files page's data.
type filesData struct {
	Point     string
	Namespace string
	Claim     string
	Dir       string // cleaned, no leading slash; "" is the root
	Crumbs    []crumb
	Job       vaultv1.Job
	Listing   *vaultv1.BrowseResult // nil while the job runs or when it failed
}

// crumb is one step of the breadcrumbs: a directory and its link.
type crumb struct{ Name, Href string }

// Base is the page's URL without a query.
func (d filesData) Base() string {
	return "/recovery-points/" + url.PathEscape(d.Point) + "/files/" + url.PathEscape(d.Namespace) + "/" + url.PathEscape(d.Claim)
}

// DirHref is the page of directory dir.
func (d filesData) DirHref(dir string) string {
	if dir == "" {
		return d.Base()
	}
	return d.Base() + "?path=" + url.QueryEscape(dir)
}

// Child is the path of entry name of the listed directory.
func (d filesData) Child(name string) string { return path.Join(d.Dir, name) }

// Running tells whether the listing is still to come.
func (d filesData) Running() bool { return !jobFinished(d.Job.State) }

func cleanDir(p string) string { return strings.Trim(path.Clean("/"+p), "/") }

// browseFiles lists one directory of a volume's copy. With ?job=ID it shows that browse job
// instead of queuing another (the page reloads itself so while the agent works).
func (s *Server) browseFiles(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	d := filesData{Point: r.PathValue("name"), Namespace: r.PathValue("namespace"), Claim: r.PathValue("claim"), Dir: cleanDir(r.URL.Query().Get("path"))}
	var err error
	if id := r.URL.Query().Get("job"); id != "" {
		n, perr := strconv.ParseInt(id, 10, 64)
		if perr != nil {
			return fmt.Errorf("job %q: not a job number: %w", id, perr)
		}
		d.Job, err = c.GetJob(r.Context(), n)
		if err == nil && (d.Job.Spec.Browse == nil || d.Job.Spec.Browse.RecoveryPoint != d.Point || cleanDir(d.Job.Spec.Browse.Path) != d.Dir) {
			err = errors.New("that job lists another directory")
		}
	} else {
		d.Job, err = c.BrowseVolume(r.Context(), d.Point, d.Namespace, d.Claim, "/"+d.Dir)
	}
	if err != nil {
		return err
	}
	if d.Job.Result != nil {
		d.Listing = d.Job.Result.Browse
	}
	d.Crumbs = []crumb{{Name: d.Namespace + "/" + d.Claim, Href: d.DirHref("")}}
	if d.Dir != "" {
		parts := strings.Split(d.Dir, "/")
		for i, p := range parts {
			d.Crumbs = append(d.Crumbs, crumb{Name: p, Href: d.DirHref(strings.Join(parts[:i+1], "/"))})
		}
	}
	s.render(w, r, http.StatusOK, "files", "", view{Title: "Files of " + d.Namespace + "/" + d.Claim + " in " + d.Point, Nav: "recovery-points",
		Session: sess, Data: d})
	return nil
}

// fetchFile asks the API to fetch one file: once the job succeeded the browser downloads it;
// a job still running is shown on its page, which offers the download when it succeeded.
func (s *Server) fetchFile(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	j, err := c.FetchFile(r.Context(), r.PathValue("name"), r.PathValue("namespace"), r.PathValue("claim"), r.PostFormValue("path"))
	if err != nil {
		return err
	}
	to := "/jobs/" + strconv.FormatInt(j.ID, 10)
	if j.State == vaultv1.JobSucceeded {
		to += "/content"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// jobContent streams a fetch job's file from the API to the browser, as an attachment.
func (s *Server) jobContent(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("job %q: not a job number: %w", r.PathValue("id"), err)
	}
	content, err := c.JobContent(r.Context(), id)
	if err != nil {
		return err
	}
	defer content.Body.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": content.Name}))
	if content.Size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(content.Size, 10))
	}
	h.Set("Cache-Control", "no-store")
	// A failed copy means the browser went away.
	_, _ = io.Copy(w, content.Body)
	return nil
}

// fileMode is an entry's permission bits as ls shows them.
func fileMode(e vaultv1.FileEntry) string {
	t := map[string]byte{"dir": 'd', "symlink": 'l', "fifo": 'p', "chardev": 'c', "blockdev": 'b', "socket": 's'}[e.Type]
	if t == 0 {
		t = '-'
	}
	b := []byte{t}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if e.Mode&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}
