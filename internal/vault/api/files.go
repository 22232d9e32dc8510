package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// Browsing a volume's copy and fetching one file (docs/design/vault.md, "Browsing a volume's
// copy"): the vault queues a browse or fetch job on the recovery point's agent, which reads the
// repository; the vault never does.

// agentContentPattern is the agent route that takes a fetch job's file.
const agentContentPattern = "/api/v1/agent/jobs/{id}/content"

// auditedReads are the GET routes audited like changes: they hand out a volume's data.
var auditedReads = map[string]bool{"/api/v1/jobs/{id}/content": true}

// bodyLimit is the largest request body a route takes.
func bodyLimit(rt route) int64 {
	if rt.pattern == agentContentPattern {
		return agentv1.MaxFetchBytes
	}
	return maxBodyBytes
}

// maxVolumePath bounds a path inside a volume (Linux's PATH_MAX).
const maxVolumePath = 4096

func (s *Server) browseVolume(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.BrowseRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	return s.volumeFiles(w, r, p, jobs.KindBrowse, req.Path)
}

func (s *Server) fetchVolumeFile(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.FetchRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if strings.Trim(req.Path, "/") == "" {
		return unprocessable("path", "name a file inside the volume")
	}
	return s.volumeFiles(w, r, p, jobs.KindFetch, req.Path)
}

// volumeFiles queues a job of kind on the recovery point's cluster for path in the volume's copy
// and answers with it: 200 once it ended, 202 while it runs after FilesWait; a job no agent took
// by then is cancelled and answered 503.
func (s *Server) volumeFiles(w http.ResponseWriter, r *http.Request, p access.Principal, kind jobs.Kind, path string) error {
	if len(path) > maxVolumePath || strings.ContainsRune(path, 0) {
		return badRequest(fmt.Sprintf("path: at most %d bytes, without NUL", maxVolumePath), "path")
	}
	ctx := r.Context()
	s.content().sweep(ctx)
	rp, err := s.st.GetRecoveryPoint(ctx, p.Vault, r.PathValue("name"))
	if err == nil {
		err = rp.Usable()
	}
	if err != nil {
		return err
	}
	ns, claim := r.PathValue("namespace"), r.PathValue("claim")
	copied, recorded := false, false
	for _, v := range rp.VolumeTiers {
		if v.Namespace == ns && v.Claim == claim {
			recorded, copied = true, v.Copy
		}
	}
	switch {
	case !recorded:
		return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf("recovery point %s records no claim %s/%s", rp.Name, ns, claim)}
	case !copied:
		return unprocessable("claim", "recovery point %s holds no copy of claim %s/%s: only a volume's copy can be browsed (volume data copy or snapshot+copy)", rp.Name, ns, claim)
	}
	if err := s.agentReady(ctx, p.Vault, rp.Cluster, "cluster"); err != nil {
		return err
	}
	in, err := s.st.GetInstance(ctx, p.Vault, rp.Instance)
	if err != nil {
		return fmt.Errorf("instance of recovery point %q: %w", rp.Name, err)
	}
	ji, err := jobsInstance(in)
	if err != nil {
		return err
	}
	nj, err := jobs.VolumeFilesJob(kind, ji, rp.Name, rp.Cluster, ns, claim, path, p.Name)
	if err != nil {
		return err
	}
	job, err := s.jobs.Queue(ctx, p.Vault, nj)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	job, err = s.waitJob(ctx, p.Vault, job.ID)
	if err != nil {
		return err
	}
	switch job.State {
	case jobs.Queued:
		if _, err := s.jobs.Cancel(context.WithoutCancel(ctx), p.Vault, job.ID, "vault"); err != nil && !errors.Is(err, jobs.ErrConflict) {
			return err
		}
		return &apiError{status: http.StatusServiceUnavailable, code: "agent_unavailable",
			message: fmt.Sprintf("the agent of cluster %s did not take job %d within %s: it is busy with other jobs, stopped, or older than this vault "+
				"(reading a volume's files needs an agent that runs %s jobs); the job was cancelled", rp.Cluster, job.ID, s.cfg.FilesWait, kind)}
	case jobs.Running:
		return writeJSON(w, http.StatusAccepted, apiJob(job))
	}
	return writeJSON(w, http.StatusOK, apiJob(job))
}

// filesPoll is how often a browse or fetch request looks at its job.
const filesPoll = 100 * time.Millisecond

// waitJob waits until job id ended, at most FilesWait, and returns it as it is then.
func (s *Server) waitJob(ctx context.Context, vault string, id int64) (jobs.Job, error) {
	deadline := time.NewTimer(s.cfg.FilesWait)
	defer deadline.Stop()
	tick := time.NewTicker(filesPoll)
	defer tick.Stop()
	for {
		job, err := s.jobs.Get(ctx, vault, id)
		if err != nil || job.State != jobs.Queued && job.State != jobs.Running {
			return job, err
		}
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-deadline.C:
			return job, nil
		case <-tick.C:
		}
	}
}

// jobContent serves a succeeded fetch job's file, once, to the principal who asked for it.
func (s *Server) jobContent(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	job, err := s.jobs.Get(r.Context(), p.Vault, id)
	if err != nil {
		return err
	}
	switch {
	case job.Kind != jobs.KindFetch || job.Spec.Fetch == nil:
		return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf("job %d is a %s job: only fetch jobs have content", id, job.Kind)}
	case job.CreatedBy != p.Name:
		return &apiError{status: http.StatusForbidden, code: "forbidden", message: fmt.Sprintf("job %d fetched a file for %s: only they may download it", id, job.CreatedBy)}
	case job.State == jobs.Queued || job.State == jobs.Running:
		return &apiError{status: http.StatusConflict, code: "conflict", message: fmt.Sprintf("job %d is %s: its file is not fetched yet", id, job.State)}
	case job.State != jobs.Succeeded:
		return &apiError{status: http.StatusConflict, code: "conflict", message: fmt.Sprintf("job %d %s: %s", id, job.State, job.Error)}
	}
	return s.content().serve(w, r, p.Vault, id, job.Spec.Fetch.Path)
}

// agentContent takes the file a running fetch job of the agent's cluster read.
func (s *Server) agentContent(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	job, err := s.jobs.Get(r.Context(), p.Vault, id)
	if errors.Is(err, jobs.ErrNotFound) || err == nil && (job.State != jobs.Running || job.Cluster != p.Name) {
		return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf("job %d is not running on cluster %q", id, p.Name)}
	}
	if err != nil {
		return err
	}
	if job.Kind != jobs.KindFetch {
		return &apiError{status: http.StatusConflict, code: "conflict", message: fmt.Sprintf("job %d is a %s job: only fetch jobs upload content", id, job.Kind)}
	}
	if r.ContentLength > agentv1.MaxFetchBytes {
		return tooLarge()
	}
	if err := s.content().put(r.Context(), p.Vault, id, r.Body); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "file of a fetch job received", "vault", p.Vault, "cluster", p.Name, "job", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func tooLarge() *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
		message: fmt.Sprintf("a fetched file is at most %d bytes: restore larger ones with cairn files restore", agentv1.MaxFetchBytes)}
}
