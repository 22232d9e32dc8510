package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// backupNow queues an on-demand backup and shows its job.
func (s *Server) backupNow(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	j, err := c.BackupNow(r.Context(), r.PathValue("name"), vaultv1.BackupNowRequest{Retain: r.PostFormValue("retain")})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
	return nil
}

// validateInstance queues a validation of the instance and shows its job.
func (s *Server) validateInstance(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	j, err := c.ValidateInstance(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
	return nil
}

// testRestoreInstance queues a test restore of the instance's newest good recovery point and
// shows its job.
func (s *Server) testRestoreInstance(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	j, err := c.TestRestoreInstance(r.Context(), r.PathValue("name"), vaultv1.TestRestoreRequest{})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
	return nil
}

// stopInstance stops scheduled backups; with deleteData the recovery points go too.
func (s *Server) stopInstance(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	name := r.PathValue("name")
	if _, err := c.StopInstance(r.Context(), name, vaultv1.StopRequest{DeleteData: r.PostFormValue("deleteData") == "true"}); err != nil {
		return err
	}
	http.Redirect(w, r, "/instances/"+url.PathEscape(name), http.StatusSeeOther)
	return nil
}

func (s *Server) resumeInstance(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	name := r.PathValue("name")
	if _, err := c.ResumeInstance(r.Context(), name); err != nil {
		return err
	}
	http.Redirect(w, r, "/instances/"+url.PathEscape(name), http.StatusSeeOther)
	return nil
}

// verifyRecoveryPoint queues a verification of the recovery point at the level chosen and shows
// its job.
func (s *Server) verifyRecoveryPoint(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	j, err := c.VerifyRecoveryPoint(r.Context(), r.PathValue("name"), vaultv1.VerifyRequest{Level: r.PostFormValue("level")})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
	return nil
}

// deleteRecoveryPoint deletes the recovery point (the vault keeps it for its soft-delete days)
// and shows it, deleted.
func (s *Server) deleteRecoveryPoint(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	rp, err := c.DeleteRecoveryPoint(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/recovery-points/"+url.PathEscape(rp.Name), http.StatusSeeOther)
	return nil
}

// undeleteRecoveryPoint brings back a deleted recovery point and shows it.
func (s *Server) undeleteRecoveryPoint(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	rp, err := c.UndeleteRecoveryPoint(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/recovery-points/"+url.PathEscape(rp.Name), http.StatusSeeOther)
	return nil
}
