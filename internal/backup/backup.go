package backup

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/buildinfo"
	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// Options configure one backup.
type Options struct {
	Name  string
	Scope *scope.Scope
	// Parallelism is how many resource types are listed at once (default 4).
	Parallelism int
	// PageSize is the LIST page size (default 500).
	PageSize int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// LockUntil, if set, makes the backup's files immutable in storage until then.
	LockUntil time.Time
	// ExpiresAt, if set, is when retention may delete the recovery point.
	ExpiresAt time.Time
	// Volumes, if set, snapshots the persistent volumes of the claims in scope.
	Volumes *snapshot.Snapshotter
	// VolumeData is the volume data mode recorded in the recovery point's spec.
	VolumeData string
	// CopyVolumes, if set, copies the snapshotted volumes' data into the repository once the
	// objects are captured (the data mover) and returns the records with their copies.
	CopyVolumes func(ctx context.Context, clusterID string, records []archive.VolumeRecord) []archive.VolumeRecord
	// FSBackup, if set, backs up through their files the volumes opted in to the file-system
	// backup that have no snapshot (records Skipped with why), right after the snapshots and
	// before the post-hooks, and returns their records (the data mover). Unset, such volumes stay
	// Skipped with a reason naming the mover image.
	FSBackup func(ctx context.Context, clusterID string, records []archive.VolumeRecord) []archive.VolumeRecord
	// Hooks, if set, runs backup hooks: pre-hooks before the volumes and items are captured,
	// post-hooks after.
	Hooks *hooks.BackupRunner
	// Progress, if set, is called from the backup's goroutines as items are captured, one call at a
	// time and with counts that never go back.
	Progress func(Progress)
	Logger   *slog.Logger
}

// Progress is a snapshot of a running backup.
type Progress struct {
	Items    int64
	RawBytes int64
	Resource string
	Done     bool
}

// Run backs up the cluster cfg points at into repo. It returns the committed recovery point,
// whose Result.Phase tells how it went; an error means nothing usable was committed.
func Run(ctx context.Context, cfg *rest.Config, repo *archive.Repository, opts Options) (archive.RecoveryPoint, error) {
	b, err := newRun(cfg, opts)
	if err != nil {
		return archive.RecoveryPoint{}, err
	}
	return b.run(ctx, repo)
}

type run struct {
	opts   Options
	scope  *scope.Scope
	client kubernetes.Interface
	disc   discovery.DiscoveryInterface
	lister *lister
	deps   *scope.Dependencies
	log    *slog.Logger
	repoID string

	items, raw atomic.Int64
	// reporting orders the progress calls: the counters are read and reported under it, so that a
	// report never follows a later one (a meter would take the lower count for a new start).
	reporting sync.Mutex

	mu         sync.Mutex
	counts     map[string]int
	namespaces map[string]bool
	// nsAnnotations are the annotations of the namespaces in scope (the file-system backup's opt-in).
	nsAnnotations map[string]map[string]string
	warnings      []string
	errs          []string
	hooks         []archive.HookExecution
}

func newRun(cfg *rest.Config, opts Options) (*run, error) {
	if opts.Scope == nil {
		s, err := scope.New(scope.Spec{})
		if err != nil {
			return nil, err
		}
		opts.Scope = s
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 4
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 500
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
	raw, err := rest.UnversionedRESTClientFor(withDefaults(cfg))
	if err != nil {
		return nil, fmt.Errorf("create REST client: %w", err)
	}
	return &run{
		opts: opts, scope: opts.Scope, client: client, disc: client.Discovery(),
		lister: &lister{client: raw, pageSize: opts.PageSize}, deps: scope.NewDependencies(),
		log: opts.Logger.With("backup", opts.Name), counts: map[string]int{}, namespaces: map[string]bool{},
	}, nil
}

func withDefaults(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.APIPath = "/"
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

func (b *run) run(ctx context.Context, repo *archive.Repository) (archive.RecoveryPoint, error) {
	started := b.opts.Now().UTC()
	rp := archive.RecoveryPoint{StartedAt: started, CairnVersion: buildinfo.Get().Version, Spec: specOf(b.scope), ExpiresAt: b.opts.ExpiresAt}
	if b.opts.Volumes != nil {
		rp.Spec.SnapshotVolumes, rp.Spec.SnapshotClass = true, b.opts.Volumes.Class()
		rp.Spec.VolumeData = b.opts.VolumeData
	}
	info, err := b.clusterInfo(ctx)
	if err != nil {
		return rp, err
	}
	rp.Cluster = info
	resources, warnings, err := discoverResources(b.disc)
	if err != nil {
		return rp, err
	}
	b.warnings = append(b.warnings, warnings...)
	namespaces, err := b.selectNamespaces(ctx)
	if err != nil {
		return rp, err
	}
	w, err := repo.NewBackup(ctx, b.opts.Name)
	if err != nil {
		return rp, err
	}
	if !b.opts.LockUntil.IsZero() {
		w.LockUntil(b.opts.LockUntil)
	}
	b.repoID = repo.Config().ID
	b.log.Info("backup started", "resources", len(resources), "namespaces", len(namespaces))

	if b.runPreHooks(ctx, namespaces) {
		// Volumes first: the objects captured next then describe the state the snapshots hold.
		rp.Volumes = b.protectVolumes(ctx, namespaces, rp.Cluster.ClusterID)
		rp.PointInTime = b.atOnePointInTime(ctx)
		b.captureNamespaced(ctx, w, resources, namespaces)
		if ctx.Err() == nil {
			b.captureClusterScoped(ctx, w, resources, namespaces)
		}
		sortOthers(rp.PointInTime)
	}
	b.runPostHooks(ctx)
	rp.Hooks = b.hooks
	if b.opts.CopyVolumes != nil && len(rp.Volumes) > 0 && ctx.Err() == nil {
		rp.Volumes = b.copyVolumes(ctx, rp.Cluster.ClusterID, rp.Volumes)
	}

	rp.CompletedAt = b.opts.Now().UTC()
	rp.Result = b.result(ctx, rp.CompletedAt.Sub(started))
	committed, err := w.Commit(context.WithoutCancel(ctx), rp)
	if err != nil {
		return rp, fmt.Errorf("commit backup %q: %w", b.opts.Name, err)
	}
	b.progress("", true)
	b.log.Info("backup committed", "phase", committed.Result.Phase, "items", committed.Result.Items,
		"storedBytes", committed.Result.StoredBytes, "duration", committed.CompletedAt.Sub(started).Round(time.Millisecond))
	return committed, nil
}

func (b *run) clusterInfo(ctx context.Context) (archive.ClusterInfo, error) {
	v, err := b.disc.ServerVersion()
	if err != nil {
		return archive.ClusterInfo{}, fmt.Errorf("reach the cluster: %w (check --kubeconfig and --context)", err)
	}
	info := archive.ClusterInfo{KubernetesVersion: v.GitVersion}
	if rc, ok := b.disc.RESTClient().(*rest.RESTClient); ok && rc.Get().URL() != nil {
		u := rc.Get().URL()
		info.Server = u.Scheme + "://" + u.Host
	}
	if ns, err := b.client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{}); err == nil {
		info.ClusterID = string(ns.UID)
	}
	return info, nil
}

func (b *run) selectNamespaces(ctx context.Context) ([]string, error) {
	list, err := b.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var out []string
	b.nsAnnotations = map[string]map[string]string{}
	for _, ns := range list.Items {
		if b.scope.NamespaceIncluded(ns.Name) && !scope.Excluded(ns.Annotations, ns.Labels) {
			out = append(out, ns.Name)
			b.nsAnnotations[ns.Name] = ns.Annotations
		}
	}
	if explicit, ok := b.scope.ExplicitNamespaces(); ok {
		for _, n := range explicit {
			if !slices.Contains(out, n) && b.scope.NamespaceIncluded(n) {
				b.warnings = append(b.warnings, fmt.Sprintf("namespace %q does not exist in the cluster", n))
			}
		}
	}
	return out, nil
}

// task is one listing: a resource across the cluster (ns "") or in one namespace; or, with name,
// one cluster-scoped object to fetch.
type task struct {
	r    resource
	ns   string
	name string
}

// perNamespaceLimit: up to this many plainly named namespaces are listed one by one; beyond, or
// with globs, one cluster-wide list per resource filtered on the client costs fewer requests.
const perNamespaceLimit = 16

func (b *run) captureNamespaced(ctx context.Context, w *archive.BackupWriter, resources []resource, namespaces []string) {
	inScope := map[string]bool{}
	for _, n := range namespaces {
		inScope[n] = true
	}
	var tasks []task
	explicit, perNS := b.scope.ExplicitNamespaces()
	perNS = perNS && len(explicit) <= perNamespaceLimit
	for _, r := range resources {
		if !r.namespaced || !b.scope.ResourceIncluded(r.scopeResource()) || len(namespaces) == 0 {
			continue
		}
		if perNS {
			for _, ns := range namespaces {
				tasks = append(tasks, task{r: r, ns: ns})
			}
		} else {
			tasks = append(tasks, task{r: r})
		}
	}
	selector, _ := b.scope.SingleSelector()
	b.parallel(ctx, w, tasks, func(ctx context.Context, s *archive.Sink, t task) error {
		key := groupKey(t.r)
		return b.lister.each(ctx, t.r, t.ns, selector, func(raw []byte, h itemHead) error {
			if !inScope[h.Metadata.Namespace] || !b.scope.Selected(h.Metadata.Labels) || scope.Excluded(h.Metadata.Annotations, h.Metadata.Labels) ||
				scope.ControlPlaneMade(t.r.groupResource(), h.Metadata.Namespace, h.Metadata.Name, h.Metadata.Labels, h.Type) {
				return nil
			}
			key.Namespace = h.Metadata.Namespace
			if err := b.add(ctx, s, key, true, t.r, raw, h); err != nil {
				return err
			}
			b.deps.Note(t.r.gvr.Group, t.r.gvr.Resource, raw)
			return nil
		})
	})
}

// parallel runs fn for each task on Parallelism goroutines, each with its own sink. A task's
// error is recorded and the others go on: a backup that lost one resource type is partial, not lost.
func (b *run) parallel(ctx context.Context, w *archive.BackupWriter, tasks []task, fn func(context.Context, *archive.Sink, task) error) {
	ch := make(chan task)
	var wg sync.WaitGroup
	for range min(b.opts.Parallelism, max(len(tasks), 1)) {
		wg.Go(func() {
			s := w.NewSink()
			for t := range ch {
				if err := fn(ctx, s, t); err != nil {
					b.recordTaskError(t, err)
				}
			}
			if err := s.Close(ctx); err != nil {
				b.addError(fmt.Sprintf("store items: %v", err))
			}
		})
	}
	for _, t := range tasks {
		select {
		case ch <- t:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
}

func (b *run) recordTaskError(t task, err error) {
	where := t.r.groupResource()
	if t.ns != "" {
		where += " in namespace " + t.ns
	}
	if apierrors.IsForbidden(err) {
		b.addError(fmt.Sprintf("%s: not allowed to list (grant list on it to the backup's identity): %v", where, err))
		return
	}
	b.addError(fmt.Sprintf("%s: %v", where, err))
}

func (b *run) add(ctx context.Context, s *archive.Sink, key archive.GroupKey, namespaced bool, r resource, raw []byte, h itemHead) error {
	item, err := withTypeMeta(raw, h, r.gvr.GroupVersion().String(), r.kind)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.groupResource(), h.Metadata.Name, err)
	}
	if err := s.Add(ctx, key, namespaced, item); err != nil {
		return err
	}
	b.items.Add(1)
	b.raw.Add(int64(len(item)))
	b.mu.Lock()
	b.counts[r.groupResource()]++
	if namespaced {
		b.namespaces[key.Namespace] = true
	}
	b.mu.Unlock()
	b.progress(r.groupResource(), false)
	return nil
}

func (b *run) progress(resource string, done bool) {
	if b.opts.Progress == nil {
		return
	}
	b.reporting.Lock()
	defer b.reporting.Unlock()
	b.opts.Progress(Progress{Items: b.items.Load(), RawBytes: b.raw.Load(), Resource: resource, Done: done})
}

func (b *run) addError(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, msg)
	b.log.Warn("backup error", "error", msg)
}

func (b *run) result(ctx context.Context, took time.Duration) archive.BackupResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	res := archive.BackupResult{Phase: archive.PhaseCompleted, DurationSeconds: took.Seconds(),
		Warnings: b.warnings, Errors: b.errs}
	for r, n := range b.counts {
		res.Resources = append(res.Resources, archive.ResourceCount{Resource: r, Items: n})
	}
	sort.Slice(res.Resources, func(i, j int) bool { return res.Resources[i].Resource < res.Resources[j].Resource })
	for ns := range b.namespaces {
		res.Namespaces = append(res.Namespaces, ns)
	}
	sort.Strings(res.Namespaces)
	if err := ctx.Err(); err != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("backup interrupted: %v", err))
	}
	switch {
	case len(res.Errors) > 0 && b.items.Load() == 0:
		res.Phase = archive.PhaseFailed
	case len(res.Errors) > 0:
		res.Phase = archive.PhasePartiallyFailed
	}
	return res
}

func specOf(s *scope.Scope) archive.BackupSpec {
	sp := s.Spec()
	return archive.BackupSpec{IncludedNamespaces: sp.IncludedNamespaces, ExcludedNamespaces: sp.ExcludedNamespaces,
		IncludedResources: sp.IncludedResources, ExcludedResources: sp.ExcludedResources,
		LabelSelectors: sp.LabelSelectors, IncludeClusterResources: sp.IncludeClusterResources}
}
