package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/restore/modifier"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// Conflict policies for objects that already exist in the target.
const (
	ConflictSkip     = "skip"
	ConflictPatch    = "patch"
	ConflictRecreate = "recreate"
)

// Options configure one restore.
type Options struct {
	Name   string
	Backup string
	// Scope filters what is restored; its namespaces are the backup's (source) namespaces.
	Scope *scope.Scope
	// Names are globs on object names (item-level restore); empty restores every name.
	Names               []string
	NamespaceMapping    map[string]string
	StorageClassMapping map[string]string
	ConflictPolicy      string
	Modifiers           *modifier.Rules
	DryRun              bool
	PreserveServiceIPs  bool
	PreserveNodePorts   bool
	// ResourceOrder puts these group-resources first, ahead of the default order.
	ResourceOrder []string
	// AllowFailedBackup restores from a backup whose phase is Failed.
	AllowFailedBackup bool
	// Volumes is what happens to the volumes of claims the backup recorded: data (default, from
	// their snapshots), empty or skip.
	Volumes string
	// VolumeSource is where volume data comes from: auto (default: the snapshot when the target
	// reaches it, else the copy), snapshot or copy.
	VolumeSource string
	// Mover fills claims from their copies in the file store; without it a claim whose data
	// would come from a copy fails, naming what is missing.
	Mover *mover.Mover
	// Hooks, if set, runs restore hooks in the restored pods.
	Hooks *hooks.RestoreRunner
	// VolumeTimeout bounds the wait for each restored snapshot to be ready and each claim to be
	// bound (default 10m).
	VolumeTimeout time.Duration
	// Parallelism is how many objects are created at once (default DefaultParallelism).
	Parallelism int
	Now         func() time.Time
	// Progress, if set, is called as items are restored, one call at a time and with counts that
	// never go back.
	Progress func(Progress)
	Logger   *slog.Logger
}

// ErrRestoreExists means a restore of that name was already recorded.
var ErrRestoreExists = errors.New("a restore of that name already exists")

// Run restores the backup into the cluster cfg points at and records the result in the repository.
// The result tells what happened per item; an error means the restore could not run at all.
func Run(ctx context.Context, cfg *rest.Config, repo *archive.Repository, opts Options) (*Result, error) {
	r, err := newRun(cfg, repo, opts)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

type run struct {
	opts   Options
	host   string
	repo   *archive.Repository
	scope  *scope.Scope
	client kubernetes.Interface
	dyn    dynamic.Interface
	// creator creates the restored objects; dyn does every other call.
	creator *creator
	served  *served
	mapper  mapper
	rec     *recorder
	log     *slog.Logger
	clean   cleanOptions

	snapshots *snapshot.Snapshotter
	vols      *volumePlan
	static    *staticVolumes

	mu               sync.Mutex
	uids             map[string]string // group/kind/namespace/name in the target → uid
	selectorServices map[string]bool   // source namespace/name of Services with a selector
	existingNS       map[string]bool
	plannedNS        map[string]bool                      // dry run: namespaces the restore would create
	restoredCRDs     []string                             // names of the CRDs the restore created or recreated
	owned            map[string]bool                      // resources with items pass 2 restores (they have owners)
	crdWebhooks      map[schema.GroupResource]*crdWebhook // the target CRDs' conversion webhooks, read once each
	expected         []hooks.Expected
}

func newRun(cfg *rest.Config, repo *archive.Repository, opts Options) (*run, error) {
	if err := archive.ValidateName(opts.Name); err != nil {
		return nil, err
	}
	if opts.ConflictPolicy == "" {
		opts.ConflictPolicy = ConflictSkip
	}
	if opts.Volumes == "" {
		opts.Volumes = VolumesData
	}
	if opts.VolumeSource == "" {
		opts.VolumeSource = SourceAuto
	}
	if err := CheckVolumeSource(opts.VolumeSource); err != nil {
		return nil, err
	}
	if err := CheckChoices(opts.ConflictPolicy, opts.Volumes); err != nil {
		return nil, err
	}
	for _, p := range opts.Names {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("name pattern %q: %w", p, err)
		}
	}
	if opts.Scope == nil {
		s, err := scope.New(scope.Spec{})
		if err != nil {
			return nil, err
		}
		opts.Scope = s
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	creator, err := newCreator(cfg)
	if err != nil {
		return nil, err
	}
	snaps, err := snapshot.New(cfg, snapshot.Options{Timeout: opts.VolumeTimeout, Now: opts.Now, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	return &run{opts: opts, host: cfg.Host, snapshots: snaps, repo: repo, scope: opts.Scope, client: client, dyn: dyn, creator: creator,
		mapper: mapper{namespaces: opts.NamespaceMapping, storageClasses: opts.StorageClassMapping},
		rec:    &recorder{progress: opts.Progress}, log: opts.Logger.With("restore", opts.Name),
		clean: cleanOptions{preserveServiceIPs: opts.PreserveServiceIPs, preserveNodePorts: opts.PreserveNodePorts, restoredPVs: map[string]bool{}},
		uids:  map[string]string{}, owned: map[string]bool{}, selectorServices: map[string]bool{}, existingNS: map[string]bool{}, plannedNS: map[string]bool{},
		crdWebhooks: map[schema.GroupResource]*crdWebhook{}}, nil
}

func (r *run) run(ctx context.Context) (*Result, error) {
	res := &Result{Name: r.opts.Name, Backup: r.opts.Backup, DryRun: r.opts.DryRun, StartedAt: r.opts.Now().UTC(), Spec: r.spec()}
	if exists, err := r.repo.RestoreResultExists(ctx, r.opts.Name); err != nil {
		return nil, err
	} else if exists {
		return nil, fmt.Errorf("%w: %q (choose another name)", ErrRestoreExists, r.opts.Name)
	}
	stored := context.WithoutCancel(ctx)
	r.rec.store = func(seq int, items []ItemResult) error {
		return r.repo.PutRestoreItems(stored, r.opts.Name, seq, items)
	}
	b, err := r.repo.OpenBackup(ctx, r.opts.Backup)
	if err != nil {
		return nil, err
	}
	if b.Manifest().Result.Phase == archive.PhaseFailed && !r.opts.AllowFailedBackup {
		return nil, fmt.Errorf("backup %q failed; restore from it anyway with --allow-failed-backup", r.opts.Backup)
	}
	ix, err := b.Index(ctx)
	if err != nil {
		return nil, err
	}
	r.vols = newVolumePlan(r.opts.Volumes, b.Manifest().Volumes)
	r.static = newStaticVolumes()
	if r.served, err = newServed(r.client.Discovery()); err != nil {
		return nil, fmt.Errorf("reach the target cluster: %w (check --kubeconfig and --context)", err)
	}
	if err := r.loadNamespaces(ctx); err != nil {
		return nil, err
	}
	plan, err := r.plan(ctx, b, ix)
	if err != nil {
		return nil, err
	}
	r.log.Info("restore started", "backup", r.opts.Backup, "resources", len(plan.order), "dryRun", r.opts.DryRun)
	for pass := 1; pass <= 2 && ctx.Err() == nil; pass++ {
		for _, gr := range plan.order {
			if ctx.Err() != nil {
				break
			}
			if pass == 2 && !r.hasOwned(gr) {
				continue
			}
			r.restoreResource(ctx, b, gr, plan.groups[gr], pass, plan)
			switch {
			case pass == 2:
			case gr == "namespaces":
				r.ensureNamespaces(ctx, plan.targetNamespaces)
				r.provisionAhead(ctx, plan)
			case gr == crdResource:
				r.awaitCRDs(ctx)
			}
		}
	}
	r.settleVolumes(ctx)
	r.runHooks(ctx, res)
	if err := ctx.Err(); err != nil {
		r.rec.warn(fmt.Sprintf("restore interrupted: %v", err))
	}
	res.CompletedAt = r.opts.Now().UTC()
	r.rec.finish(res)
	if ctx.Err() != nil && res.Phase == PhaseCompleted {
		res.Phase = PhasePartiallyFailed
	}
	if err := r.repo.PutRestoreResult(context.WithoutCancel(ctx), r.opts.Name, res); err != nil {
		return res, fmt.Errorf("record restore result: %w", err)
	}
	return res, nil
}

func (r *run) spec() Spec {
	sp := r.scope.Spec()
	return Spec{Target: r.host, IncludedNamespaces: sp.IncludedNamespaces, ExcludedNamespaces: sp.ExcludedNamespaces,
		IncludedResources: sp.IncludedResources, ExcludedResources: sp.ExcludedResources, LabelSelectors: sp.LabelSelectors,
		Names: r.opts.Names, ClusterResources: sp.IncludeClusterResources, NamespaceMapping: r.opts.NamespaceMapping,
		StorageClassMapping: r.opts.StorageClassMapping, ConflictPolicy: r.opts.ConflictPolicy, Modifiers: r.opts.Modifiers != nil,
		Volumes: r.opts.Volumes}
}

func (r *run) loadNamespaces(ctx context.Context) error {
	list, err := r.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list the target's namespaces: %w (check --kubeconfig and --context)", err)
	}
	for _, ns := range list.Items {
		r.existingNS[ns.Name] = true
	}
	return nil
}

// wanted applies the restore's item filters (labels, names) to a decoded item.
func (r *run) wanted(obj *unstructured.Unstructured) bool {
	if !r.scope.Selected(obj.GetLabels()) {
		return false
	}
	return len(r.opts.Names) == 0 || scope.MatchAny(r.opts.Names, obj.GetName())
}

// hasOwned tells whether pass 1 met items of gr that pass 2 restores: the others are not read
// again.
func (r *run) hasOwned(gr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owned[gr]
}

func ownerKey(group, kind, namespace, name string) string {
	return group + "/" + kind + "/" + namespace + "/" + name
}

func (r *run) rememberUID(gvr schema.GroupVersionResource, obj *unstructured.Unstructured) {
	if obj == nil || obj.GetUID() == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uids[ownerKey(gvr.Group, obj.GetKind(), obj.GetNamespace(), obj.GetName())] = string(obj.GetUID())
}
