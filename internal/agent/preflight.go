package agent

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// Names of a restore's pre-flight checks, in the order they run.
const (
	checkAgent         = "agent"
	checkStorage       = "storage"
	checkRecoveryPoint = "recovery-point"
	checkPermissions   = "permissions"
	checkConflicts     = "conflicts"
)

// maxAccessChecks bounds the access reviews of the permissions check: past it, namespaced
// resources are checked across all namespaces instead of in each target namespace.
const maxAccessChecks = 100

// preflighted is what the pre-flight checks learnt.
type preflighted struct {
	repo   *archive.Repository
	dryRun *restore.Result
}

// preflight runs the restore's pre-flight checks, recording each in res. When one fails it returns
// the job's outcome and false.
func (a *agent) preflight(ctx context.Context, j *jobRun, spec *wire.RestoreJob, opts restore.Options, res *wire.JobResult) (preflighted, outcome, bool) {
	var pf preflighted
	pass := func(name, msg string) {
		res.Checks = append(res.Checks, wire.Check{Name: name, OK: true, Message: msg})
		j.log.Info("pre-flight check passed", "check", name, "message", msg)
	}
	fail := func(name, msg string) (preflighted, outcome, bool) {
		res.Checks = append(res.Checks, wire.Check{Name: name, OK: false, Message: msg})
		j.log.Error("pre-flight check failed", "check", name, "message", msg)
		return pf, outcome{state: wire.JobFailed, err: fmt.Sprintf("pre-flight check %s failed: %s", name, msg), result: res}, false
	}

	kv, err := a.cluster.version(ctx)
	if err != nil {
		kv = "version unknown: " + err.Error()
	}
	pass(checkAgent, fmt.Sprintf("agent %s is running in this cluster (Kubernetes %s)", a.opts.Version, kv))

	repo, err := a.openRepository(ctx, spec.Storage, false, j)
	if err != nil {
		return fail(checkStorage, err.Error())
	}
	pf.repo = repo
	pass(checkStorage, fmt.Sprintf("the repository at %s opens with passphrase secret %q", repo.Storage(), spec.Storage.PassphraseSecret))

	b, err := repo.OpenBackup(ctx, spec.RecoveryPoint)
	if err != nil {
		return fail(checkRecoveryPoint, err.Error())
	}
	m := b.Manifest()
	if m.Result.Phase == archive.PhaseFailed {
		return fail(checkRecoveryPoint, fmt.Sprintf("recovery point %q failed (%s): it holds nothing to restore", spec.RecoveryPoint, first(m.Result.Errors)))
	}
	ix, err := b.Index(ctx)
	if err != nil {
		return fail(checkRecoveryPoint, err.Error())
	}
	pass(checkRecoveryPoint, fmt.Sprintf("recovery point %q: %s, %d items, taken %s in cluster %s", spec.RecoveryPoint, m.Result.Phase,
		m.Result.Items, m.CompletedAt.UTC().Format("2006-01-02 15:04:05 MST"), orUnknown(spec.SourceCluster, m.Cluster.Server)))

	needed := neededAccess(ix, opts, len(spec.Options.RestoreHooks) > 0)
	missing, err := a.missingAccess(ctx, needed)
	if err != nil {
		return fail(checkPermissions, fmt.Sprintf("cannot check the agent's permissions: %v", err))
	}
	if len(missing) > 0 {
		return fail(checkPermissions, fmt.Sprintf("the agent may not %s: grant it to the agent's identity in this cluster (the ClusterRole of the trust grant's manifest)", summarizeAccess(missing)))
	}
	pass(checkPermissions, fmt.Sprintf("the agent may do the %d kinds of operation the restore needs", len(needed)))

	// The dry run checks every object against the cluster. Unless the job itself is a dry run it
	// reads the repository through a storage that drops writes, so it records no restore result.
	j.progress(0, 0, "checking conflicts (dry run)")
	dryRepo := repo
	if !spec.Options.DryRun {
		if dryRepo, err = a.previewRepository(ctx, spec.Storage, repo.Storage()); err != nil {
			return fail(checkConflicts, err.Error())
		}
	}
	dryOpts := opts
	dryOpts.DryRun, dryOpts.Logger = true, j.log
	dryOpts.Progress = func(p restore.Progress) { j.progress(int64(p.Done), 0, "dry run: "+p.Resource) }
	dry, err := restore.Run(ctx, a.opts.Config, dryRepo, dryOpts)
	if err != nil {
		return fail(checkConflicts, fmt.Sprintf("the dry run failed: %v", err))
	}
	pf.dryRun = dry
	msg, ok := conflictMessage(dry, opts.ConflictPolicy)
	if !ok {
		return fail(checkConflicts, msg)
	}
	pass(checkConflicts, msg)
	return pf, outcome{}, true
}

func orUnknown(names ...string) string {
	for _, n := range names {
		if n != "" {
			return n
		}
	}
	return "(unknown)"
}

// conflictMessage says how many objects of a dry run exist already and what the conflict policy
// does with them. It is not ok only when the policy is skip and every object exists: nothing would
// be restored.
func conflictMessage(dry *restore.Result, policy string) (string, bool) {
	var considered, existing, differ, failing int
	var firstFailure string
	for _, it := range dry.Items {
		switch {
		case it.Action == restore.ActionSkip && !strings.HasPrefix(it.Reason, "already exists"):
			continue // skipped for another reason (owned by a controller, made by the cluster)
		case it.Action == restore.ActionSkip, it.Action == restore.ActionUnchanged:
			existing++
		case it.Action == restore.ActionPatch, it.Action == restore.ActionRecreate:
			existing++
			differ++
		case it.Action == restore.ActionFail:
			if failing++; failing == 1 {
				firstFailure = fmt.Sprintf("%s %s: %s", it.Resource, qualified(it.Namespace, it.Name), it.Reason)
			}
		}
		considered++
	}
	var b strings.Builder
	switch {
	case considered == 0:
		b.WriteString("the recovery point holds no object in the restore's scope")
	case existing == 0:
		fmt.Fprintf(&b, "none of the %d objects to restore exists in the cluster", considered)
	default:
		fmt.Fprintf(&b, "%d of %d objects to restore already exist in the cluster; ", existing, considered)
		switch policy {
		case restore.ConflictPatch:
			fmt.Fprintf(&b, "conflict policy patch brings %d of them back to the backed-up state and leaves %d unchanged", differ, existing-differ)
		case restore.ConflictRecreate:
			fmt.Fprintf(&b, "conflict policy recreate deletes and creates %d of them (namespaces and CRDs are patched instead)", existing)
		default:
			b.WriteString("conflict policy skip leaves them as they are")
		}
	}
	if failing > 0 {
		fmt.Fprintf(&b, "; %d would fail (first: %s)", failing, firstFailure)
	}
	if (policy == restore.ConflictSkip || policy == "") && considered > 0 && existing == considered {
		b.WriteString(": nothing would be restored (use conflict policy patch or recreate, or a namespace mapping)")
		return b.String(), false
	}
	return b.String(), true
}

// previewRepository opens the repository again over a storage that drops every write: a dry run
// through it leaves nothing behind.
func (a *agent) previewRepository(ctx context.Context, loc wire.StorageLocation, st blob.Storage) (*archive.Repository, error) {
	pass, err := a.secret(loc.PassphraseSecret)
	if err != nil {
		return nil, err
	}
	return archive.Open(ctx, readOnly{st}, archive.Credential{Passphrase: pass})
}

// readOnly is a storage whose writes succeed without storing anything.
type readOnly struct{ blob.Storage }

func (readOnly) Put(_ context.Context, _ string, r io.Reader, _ blob.PutOptions) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (readOnly) Delete(context.Context, string) error { return nil }

// access is one operation the restore needs, as an access review asks it.
type access struct {
	verb, group, resource, subresource, namespace string
}

func (x access) String() string {
	r := x.resource
	if x.group != "" {
		r += "." + x.group
	}
	if x.subresource != "" {
		r += "/" + x.subresource
	}
	where := " in namespace " + x.namespace
	if x.namespace == "" {
		where = ""
	}
	return x.verb + " " + r + where
}

// neededAccess lists what the restore will do, by the resource types of the recovery point's index
// in the restore's scope: create each (in its target namespace), update or delete them under the
// patch or recreate conflict policies, create namespaces, and exec in pods for restore hooks.
func neededAccess(ix *archive.Index, opts restore.Options, hooks bool) []access {
	verbs := []string{"create"}
	switch opts.ConflictPolicy {
	case restore.ConflictPatch:
		verbs = append(verbs, "update")
	case restore.ConflictRecreate:
		verbs = append(verbs, "delete")
	}
	sc := opts.Scope
	mode := sc.ClusterResourcesMode()
	set := map[access]bool{{verb: "create", resource: "namespaces"}: true}
	targets := map[string]bool{}
	for _, g := range ix.Groups {
		gr := g.GroupResource()
		ns := ""
		switch {
		case gr == "namespaces":
		case !sc.ResourceIncluded(scope.Resource{Group: g.Group, Resource: g.Resource, Kind: g.Kind}):
			continue
		case g.Namespaced:
			if !sc.NamespaceIncluded(g.Namespace) {
				continue
			}
			ns = g.Namespace
			if to, ok := opts.NamespaceMapping[ns]; ok {
				ns = to
			}
			targets[ns] = true
		case mode == "none":
			continue
		case mode == "deps" && !slices.Contains(scope.DependencyResources, gr):
			continue
		}
		for _, v := range verbs {
			set[access{verb: v, group: g.Group, resource: g.Resource, namespace: ns}] = true
		}
	}
	if hooks {
		for ns := range targets {
			set[access{verb: "create", resource: "pods", subresource: "exec", namespace: ns}] = true
		}
	}
	if len(set) > maxAccessChecks {
		wide := map[access]bool{}
		for x := range set {
			x.namespace = ""
			wide[x] = true
		}
		set = wide
	}
	out := make([]access, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// missingAccess asks the apiserver, with self subject access reviews, which of needed the agent
// may not do.
func (a *agent) missingAccess(ctx context.Context, needed []access) ([]access, error) {
	client, err := kubernetes.NewForConfig(a.opts.Config)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	allowed := make([]bool, len(needed))
	errs := make([]error, len(needed))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, x := range needed {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: x.namespace, Verb: x.verb,
					Group: x.group, Resource: x.resource, Subresource: x.subresource}}}
			got, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				errs[i] = fmt.Errorf("review %s: %w", x, err)
				return
			}
			allowed[i] = got.Status.Allowed
		})
	}
	wg.Wait()
	var missing []access
	for i, x := range needed {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if !allowed[i] {
			missing = append(missing, x)
		}
	}
	return missing, nil
}

// summarizeAccess lists up to ten operations.
func summarizeAccess(list []access) string {
	var parts []string
	for i, x := range list {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(list)-i))
			break
		}
		parts = append(parts, x.String())
	}
	return strings.Join(parts, "; ")
}
