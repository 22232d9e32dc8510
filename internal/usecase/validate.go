package usecase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// Names of a validation's checks after the first, which Wording names; in the order they run
// (docs/design/monitoring.md, "Validation before the first backup").
const (
	CheckSecret          = "secret"
	CheckNamespaces      = "namespaces"
	CheckVolumeSnapshots = "volume-snapshots"
	CheckHooks           = "hooks"
)

// ValidateRequest is a backup to validate: everything a BackupRequest says but its name.
type ValidateRequest struct {
	Repository RepositoryRef
	Scope      scope.Spec
	Volumes    Volumes
	Hooks      []string
	// Wording words the checks that depend on who runs the validation.
	Wording Wording
}

// probePrefix is where the storage check writes its test object when no repository exists yet.
const probePrefix = "cairn-validate/"

// Validate checks what a backup as req says will need, without backing up: the passphrase, the
// storage (and repository), the namespaces, the volume snapshot classes, the hooks and the
// permissions. It returns every check it ran, failed ones included; a check that needs what a
// failed one could not give (the storage without its passphrase) is not run. The error is for a
// request that cannot be validated at all.
func (r *Runner) Validate(ctx context.Context, req ValidateRequest) ([]Check, error) {
	r = r.withDefaults()
	sc, err := scope.New(req.Scope)
	if err != nil {
		return nil, fmt.Errorf("backup configuration: %w", err)
	}
	var checks []Check
	check := r.recorder("validation", &checks)
	w := req.Wording
	kv, err := r.Engines.KubernetesVersion(ctx, r.Config)
	if err != nil {
		kv = "version unknown: " + err.Error()
	}
	check(w.RunnerCheck, nil, w.Runner(kv))

	cred, err := req.Repository.Credential()
	check(CheckSecret, err, fmt.Sprintf("%s is there", w.Credential))
	if err == nil {
		msg, err := r.validateStorage(ctx, req.Repository, cred, w)
		check(CheckStorage, err, msg)
	}

	client, err := kubernetes.NewForConfig(r.Config)
	if err != nil {
		return checks, fmt.Errorf("create client: %w", err)
	}
	namespaces, msg, err := validateNamespaces(ctx, client, sc)
	check(CheckNamespaces, err, msg)

	claimNamespaces := map[string]bool{}
	if req.Volumes.Snapshot && namespaces != nil {
		msg, err := r.validateSnapshots(ctx, client, sc, namespaces, req.Volumes, claimNamespaces)
		check(CheckVolumeSnapshots, err, msg)
	}
	if len(req.Hooks) > 0 {
		_, err := r.Engines.BackupHooks(ctx, r.Config, req.Hooks, r.Now, r.Logger)
		check(CheckHooks, err, fmt.Sprintf("the %d BackupHook(s) named exist and are valid: %s", len(req.Hooks), strings.Join(req.Hooks, ", ")))
	}

	needed := backupAccess(sc, namespaces, claimNamespaces, len(req.Hooks) > 0)
	missing, err := r.Engines.MissingAccess(ctx, r.Config, needed)
	switch {
	case err != nil:
		check(CheckPermissions, fmt.Errorf("cannot check %s's permissions: %w", w.Subject, err), "")
	case len(missing) > 0:
		check(CheckPermissions, fmt.Errorf("%s may not %s: %s", w.Subject, summarizeAccess(missing), w.Grant), "")
	default:
		msg := fmt.Sprintf("%s may do the %d kinds of operation the backup needs", w.Subject, len(needed))
		if w.Restores != "" {
			msg += "; " + w.Restores
		}
		check(CheckPermissions, nil, msg)
	}
	return checks, nil
}

// validateStorage opens the repository; when the storage holds none yet, it checks that the
// storage takes a write (the first backup creates the repository) with a probe it deletes.
func (r *Runner) validateStorage(ctx context.Context, ref RepositoryRef, cred archive.Credential, w Wording) (string, error) {
	st, err := r.Engines.OpenStorage(ctx, ref.Location)
	if err != nil {
		return "", ref.explain(&StorageError{Err: err})
	}
	repo, err := archive.Open(ctx, st, cred)
	if err == nil {
		return fmt.Sprintf("the repository at %s opens with %s", repo.Storage(), w.Credential), nil
	}
	if !errors.Is(err, archive.ErrNoRepository) {
		return "", ref.explain(&RepositoryError{Storage: st.String(), Err: err})
	}
	key := probePrefix + strconv.FormatInt(r.Now().UnixNano(), 36)
	if err := st.Put(ctx, key, bytes.NewReader([]byte("cairn validation probe\n")), blob.PutOptions{IfNotExists: true}); err != nil {
		return "", ref.explain(&StorageError{Err: fmt.Errorf("%s holds no repository yet, and a test write failed: the first backup could not create one: %w", st, err)})
	}
	if err := st.Delete(ctx, key); err != nil {
		return "", ref.explain(&StorageError{Err: fmt.Errorf("%s took a test write but not its deletion (%s): backups need to delete (retention): %w", st, key, err)})
	}
	return fmt.Sprintf("%s holds no repository yet and takes writes: the first backup creates an encrypted one with %s", st, w.Credential), nil
}

// validateNamespaces returns the cluster's namespaces in scope, and an error naming the
// namespaces the scope includes by name that the cluster lacks.
func validateNamespaces(ctx context.Context, client kubernetes.Interface, sc *scope.Scope) ([]corev1.Namespace, string, error) {
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("list namespaces: %w", err)
	}
	var in []corev1.Namespace
	exists := map[string]bool{}
	for _, ns := range list.Items {
		exists[ns.Name] = true
		if sc.NamespaceIncluded(ns.Name) {
			in = append(in, ns)
		}
	}
	var missing []string
	for _, n := range sc.Spec().IncludedNamespaces {
		if !strings.ContainsAny(n, "*?[") && !exists[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return in, "", fmt.Errorf("namespace(s) %s do not exist in this cluster: the backup would hold nothing of them (create them, or fix the instance's namespaces)",
			strings.Join(missing, ", "))
	}
	if len(in) == 0 {
		return in, "", errors.New("no namespace of this cluster is in the instance's scope: the backup would hold nothing")
	}
	return in, fmt.Sprintf("%d namespace(s) in scope", len(in)), nil
}

// validateSnapshots assesses the claims in scope as the backup would, recording in claimsIn the
// namespaces that have claims; a claim that could not be protected fails the check.
func (r *Runner) validateSnapshots(ctx context.Context, client kubernetes.Interface, sc *scope.Scope, namespaces []corev1.Namespace, v Volumes,
	claimsIn map[string]bool) (string, error) {
	var claims []corev1.PersistentVolumeClaim
	annotations := map[string]map[string]string{}
	for _, ns := range namespaces {
		annotations[ns.Name] = ns.Annotations
		list, err := client.CoreV1().PersistentVolumeClaims(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", fmt.Errorf("list persistentvolumeclaims in namespace %s: %w", ns.Name, err)
		}
		for _, c := range list.Items {
			if sc.Selected(c.Labels) && !scope.Excluded(c.Annotations, c.Labels) {
				claims = append(claims, c)
				claimsIn[c.Namespace] = true
			}
		}
	}
	if len(claims) == 0 {
		return "no persistent volume claim in scope", nil
	}
	snaps, err := r.Engines.Snapshotter(r.Config, snapshot.Options{Class: v.Class, Policy: v.Policy, Now: r.Now, Logger: r.Logger})
	if err != nil {
		return "", err
	}
	assessed, err := snaps.Assess(ctx, claims, func(c corev1.PersistentVolumeClaim) bool {
		return snapshot.FSBackupOptIn(annotations[c.Namespace], c.Annotations)
	})
	if err != nil {
		return "", err
	}
	var problems, classes []string
	snapshotted := 0
	for _, a := range assessed {
		switch {
		case a.Unprotected:
			problems = append(problems, fmt.Sprintf("%s/%s: %s", a.Namespace, a.Claim, a.Reason))
		case a.Class != "":
			snapshotted++
			if !slices.Contains(classes, a.Class) {
				classes = append(classes, a.Class)
			}
		}
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("%d of %d claim(s) could not be snapshotted: %s", len(problems), len(claims), strings.Join(problems, "; "))
	}
	sort.Strings(classes)
	msg := fmt.Sprintf("%d of %d claim(s) will be snapshotted", snapshotted, len(claims))
	if len(classes) > 0 {
		msg += " (VolumeSnapshotClass " + strings.Join(classes, ", ") + ")"
	}
	return msg, nil
}

// backupAccess lists what a backup does, as access reviews ask it: get and list every resource in
// each namespace in scope (across the cluster when there are more than a review budget allows,
// or cluster-scoped resources are included), create VolumeSnapshots where claims are, and exec
// into pods for hooks.
func backupAccess(sc *scope.Scope, namespaces []corev1.Namespace, claimsIn map[string]bool, hooks bool) []Access {
	var out []Access
	where := []string{""}
	if sc.ClusterResourcesMode() == "none" && len(namespaces) > 0 && len(namespaces) <= maxAccessChecks/4 {
		where = where[:0]
		for _, ns := range namespaces {
			where = append(where, ns.Name)
		}
	}
	for _, ns := range where {
		out = append(out, Access{Verb: "list", Group: "*", Resource: "*", Namespace: ns}, Access{Verb: "get", Group: "*", Resource: "*", Namespace: ns})
		if hooks {
			out = append(out, Access{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: ns})
		}
	}
	for ns := range claimsIn {
		out = append(out, Access{Verb: "create", Group: "snapshot.storage.k8s.io", Resource: "volumesnapshots", Namespace: ns})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
