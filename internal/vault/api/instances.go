package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, err := s.st.ListInstancesPage(r.Context(), p.Vault, store.InstanceFilter{Cluster: q.Get("cluster"), Policy: q.Get("policy"), State: q.Get("state"),
		NameContains: q.Get("nameContains")}, pg)
	if err != nil {
		return err
	}
	out, err := apiInstances(list)
	if err != nil {
		return err
	}
	s.fillSchedules(r.Context(), p.Vault, out.Items)
	s.fillValidations(r.Context(), p.Vault, out.Items)
	s.fillTestRestores(r.Context(), p.Vault, out.Items)
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	in, err := s.st.GetInstance(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	return s.writeInstance(r.Context(), w, http.StatusOK, p.Vault, in)
}

// writeInstance answers with the instance and when its policy next backs it up.
func (s *Server) writeInstance(ctx context.Context, w http.ResponseWriter, status int, vault string, in store.Instance) error {
	out, err := apiInstance(in)
	if err != nil {
		return err
	}
	one := []vaultv1.Instance{out}
	s.fillSchedules(ctx, vault, one)
	s.fillValidations(ctx, vault, one)
	s.fillTestRestores(ctx, vault, one)
	return writeJSON(w, status, one[0])
}

// fillSchedules sets when each protected instance's policy next backs it up and where each
// instance stands against its recovery point objective, reading each policy once. Neither is
// stored: both follow from the policy, the recovery points and the clock.
func (s *Server) fillSchedules(ctx context.Context, vault string, ins []vaultv1.Instance) {
	policies := map[string]*policy.Policy{}
	lastGood, err := s.st.LastGoodBackups(ctx, vault, archive.PhaseCompleted)
	if err != nil {
		s.log.WarnContext(ctx, "recovery point objectives not evaluated", "vault", vault, "error", err)
	}
	now := s.now()
	standings := policy.NewStandings(now)
	for i := range ins {
		in := &ins[i]
		pol, seen := policies[in.Policy]
		if !seen {
			if p, err := s.st.GetPolicy(ctx, vault, in.Policy); err == nil {
				pol = &p
			}
			policies[in.Policy] = pol
		}
		if pol == nil {
			continue
		}
		if err == nil {
			in.RPOStatus = rpoStatus(*in, *pol, lastGood, standings)
		}
		if in.State != vaultv1.InstanceProtected {
			continue
		}
		from := now
		if in.LastScheduled != nil && in.LastScheduled.After(from) {
			from = *in.LastScheduled
		}
		if next, err := pol.Schedule.Next(from); err == nil {
			next = next.UTC()
			in.NextBackup = &next
		}
	}
}

// rpoStatus places the instance against its objective (nil when the policy gives none).
func rpoStatus(in vaultv1.Instance, pol policy.Policy, lastGood map[string]time.Time, standings *policy.Standings) *vaultv1.RPOStatus {
	override, _ := policy.ParseOptionalDuration(in.RPO) // stored valid
	var good *time.Time
	if at, ok := lastGood[in.Name]; ok {
		good = &at
	}
	st, err := standings.Of(pol, override, good, in.CreatedAt, in.State != vaultv1.InstanceProtected)
	if err != nil {
		return nil
	}
	return apiRPOStatus(st)
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var spec vaultv1.InstanceSpec
	if err := decodeJSON(r, &spec); err != nil {
		return err
	}
	if err := validateInstanceSpec(spec); err != nil {
		return err
	}
	if pol, err := s.st.GetPolicy(r.Context(), p.Vault, spec.Policy); err == nil && pol.Copy != nil && !spec.Backup.SnapshotVolumes {
		return unprocessable("backup.snapshotVolumes", "policy %q has a copy tier, and copies are read from volume snapshots: set snapshotVolumes: true, or choose a policy without copy tier",
			pol.Name)
	}
	row, err := storeInstanceSpec(spec)
	if err != nil {
		return err
	}
	in, err := s.st.CreateInstance(r.Context(), p.Vault, row)
	if err != nil {
		return err
	}
	// Scheduling starts from now: the instance's first backup is its policy's next run.
	if err := s.st.SetLastScheduled(r.Context(), p.Vault, in.Name, s.now()); err != nil {
		return err
	}
	// Its agent checks at once what that backup will need.
	if _, err := s.queueValidation(r.Context(), p.Vault, in, p.Name); err != nil {
		return err
	}
	if in, err = s.st.GetInstance(r.Context(), p.Vault, in.Name); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/instances/"+url.PathEscape(in.Name))
	return s.writeInstance(r.Context(), w, http.StatusCreated, p.Vault, in)
}

// backupNow queues an on-demand backup with its own retention.
func (s *Server) backupNow(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.BackupNowRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	in, err := s.st.GetInstance(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	if in.State != store.InstanceProtected {
		return &apiError{status: http.StatusConflict, code: "conflict",
			message: fmt.Sprintf("instance %q is %s: resume it first (cairn instance resume)", in.Name, in.State)}
	}
	var expires *time.Time
	if req.Retain != "" {
		d, err := policy.ParseDuration(req.Retain)
		if err != nil || d <= 0 {
			return unprocessable("retain", "%q: use a positive duration like 36h, 30d, 4w or 1y", req.Retain)
		}
		t := s.now().Add(time.Duration(d)).UTC().Truncate(time.Second)
		expires = &t
	}
	ji, err := jobsInstance(in)
	if err != nil {
		return err
	}
	pol, err := s.st.GetPolicy(r.Context(), p.Vault, in.Policy)
	if err != nil {
		return err
	}
	ji.LockFor = pol.EffectiveLockFor(in.LockFor)
	if req.VolumeData != "" {
		if !slices.Contains(vaultv1.VolumeDataModes, req.VolumeData) {
			return unprocessable("volumeData", "%q: use %s", req.VolumeData, humanize.OrList(vaultv1.VolumeDataModes))
		}
		if req.VolumeData != vaultv1.VolumeDataModes[0] && !ji.Backup.SnapshotVolumes {
			return unprocessable("volumeData", "%s copies volumes from their snapshots: the instance has snapshotVolumes: false", req.VolumeData)
		}
	}
	nj := jobs.BackupJob(ji, s.now(), jobs.BackupTrigger{Trigger: jobs.TriggerOnDemand, By: p.Name, OnDemand: true, ExpiresAt: expires,
		VolumeData: req.VolumeData})
	job, err := s.jobs.Queue(r.Context(), p.Vault, nj)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return writeJSON(w, http.StatusAccepted, apiJob(job))
}

// stopInstance stops scheduled backups; with deleteData it queues the deletion of every recovery
// point of the instance.
func (s *Server) stopInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.StopRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	name := r.PathValue("name")
	state := vaultv1.InstanceStopped
	from := []string{vaultv1.InstanceProtected}
	if req.DeleteData {
		state = vaultv1.InstanceStoppedDeleting
		from = append(from, vaultv1.InstanceStopped, vaultv1.InstanceStoppedDeleting)
	}
	in, err := s.st.SetInstanceState(r.Context(), p.Vault, name, state, from...)
	if err != nil {
		return err
	}
	out, err := apiInstance(in)
	if err != nil {
		return err
	}
	if req.DeleteData {
		n, err := s.st.SoftDeleteInstanceRecoveryPoints(r.Context(), p.Vault, name, p.Name, s.purgeAfter())
		if err != nil {
			return err
		}
		noteAudit(r, fmt.Sprintf("%d recovery point(s) deleted, purged after %s", n, s.purgeAfter().Format(time.RFC3339)))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) resumeInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	name := r.PathValue("name")
	if _, err := s.st.SetInstanceState(r.Context(), p.Vault, name, vaultv1.InstanceProtected, vaultv1.InstanceStopped); err != nil {
		return err
	}
	// Backups missed while stopped are not made up: scheduling starts again from now.
	if err := s.st.SetLastScheduled(r.Context(), p.Vault, name, s.now()); err != nil {
		return err
	}
	in, err := s.st.GetInstance(r.Context(), p.Vault, name)
	if err != nil {
		return err
	}
	return s.writeInstance(r.Context(), w, http.StatusOK, p.Vault, in)
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if err := s.st.DeleteInstance(r.Context(), p.Vault, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
