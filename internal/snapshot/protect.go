package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/scope"
)

// candidate is a claim that can be snapshotted, with the class to use.
type candidate struct {
	claim corev1.PersistentVolumeClaim
	class string
	rec   archive.VolumeRecord
}

// Owner names the recovery point snapshots are taken for: its repository's id and its name. Both
// label the snapshot objects, so that those of an unfinished backup can be found.
type Owner struct {
	Repository, RecoveryPoint string
}

func (o Owner) labels() map[string]any {
	return map[string]any{LabelRepository: o.Repository, LabelRecoveryPoint: o.RecoveryPoint, scope.ExcludeAnnotation: "true"}
}

// Protection is what Protect decided and did.
type Protection struct {
	// Records has one record per claim, ordered by namespace and claim: Snapshotted, Skipped (with
	// why) or Failed (with the error).
	Records []archive.VolumeRecord
	// FileSystem are the claims to back up through their files (docs/design/volumes.md,
	// "File-system backup of volumes without snapshots"), not in Records: Skipped records whose
	// reason says why the volume has no snapshot, for the data mover to complete.
	FileSystem []archive.VolumeRecord
}

// route is where assess sends a claim.
type route int

const (
	// routeSnapshot: snapshot it.
	routeSnapshot route = iota
	// routeRecorded: its record is final (not bound, skipped by a rule, failed).
	routeRecorded
	// routeNoSnapshot: it cannot be snapshotted; opted in, it is backed up through its files.
	routeNoSnapshot
	// routeFileSystem: a policy rule sends it to the file-system backup.
	routeFileSystem
)

// fsBackupHint tells how to protect a volume that cannot be snapshotted.
const fsBackupHint = "; to back it up through its files, annotate the claim or its namespace " + AnnotationFSBackup + "=true"

// add files a claim that is not snapshotted: to the file-system backup when a rule sends it there
// or, opted in, it cannot be snapshotted; else its record is final.
func (p *Protection) add(rec archive.VolumeRecord, r route, optedIn bool) {
	switch {
	case r == routeFileSystem, r == routeNoSnapshot && optedIn:
		p.FileSystem = append(p.FileSystem, rec)
	case r == routeNoSnapshot:
		rec.Reason += fsBackupHint
		p.Records = append(p.Records, rec)
	default:
		p.Records = append(p.Records, rec)
	}
}

// Protect snapshots the claims for the recovery point. optIn, if set, tells whether a claim's
// annotations opt it in to the file-system backup; such a claim that cannot be snapshotted, and a
// claim a policy rule sends there, is returned in FileSystem instead of snapshotted.
func (s *Snapshotter) Protect(ctx context.Context, owner Owner, claims []corev1.PersistentVolumeClaim,
	optIn func(corev1.PersistentVolumeClaim) bool) (Protection, error) {
	classes, err := s.loadClasses(ctx)
	if err != nil {
		return Protection{}, err
	}
	if _, ok := classes.driverOf[s.opts.Class]; s.opts.Class != "" && !ok {
		return Protection{}, fmt.Errorf("snapshot class %q does not exist in the cluster: create it or name another with --snapshot-class", s.opts.Class)
	}
	var out Protection
	var todo []candidate
	for _, c := range claims {
		rec, class, r := s.assess(ctx, c, classes)
		if r == routeSnapshot {
			todo = append(todo, candidate{claim: c, class: class, rec: rec})
			continue
		}
		out.add(rec, r, optIn != nil && optIn(c))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.opts.Parallelism)
	for _, c := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rec := s.take(ctx, owner, c)
			mu.Lock()
			out.Records = append(out.Records, rec)
			mu.Unlock()
		})
	}
	wg.Wait()
	SortRecords(out.Records)
	SortRecords(out.FileSystem)
	return out, nil
}

// SortRecords orders volume records by namespace and claim.
func SortRecords(records []archive.VolumeRecord) {
	sort.Slice(records, func(i, j int) bool {
		if records[i].Namespace != records[j].Namespace {
			return records[i].Namespace < records[j].Namespace
		}
		return records[i].Claim < records[j].Claim
	})
}

// assess returns where a claim goes: a record to complete and the class to use when it is
// snapshotted, else a Skipped or Failed record.
func (s *Snapshotter) assess(ctx context.Context, c corev1.PersistentVolumeClaim, classes *classes) (archive.VolumeRecord, string, route) {
	rec := archive.VolumeRecord{Namespace: c.Namespace, Claim: c.Name, Volume: c.Spec.VolumeName}
	if c.Spec.StorageClassName != nil {
		rec.StorageClass = *c.Spec.StorageClassName
	}
	if c.Spec.VolumeMode != nil {
		rec.VolumeMode = string(*c.Spec.VolumeMode)
	}
	if q, ok := c.Status.Capacity[corev1.ResourceStorage]; ok {
		rec.CapacityBytes = q.Value()
	} else if q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		rec.CapacityBytes = q.Value()
	}
	skip := func(r route, format string, args ...any) (archive.VolumeRecord, string, route) {
		rec.Outcome, rec.Reason = archive.VolumeSkipped, fmt.Sprintf(format, args...)
		return rec, "", r
	}
	if c.Status.Phase != corev1.ClaimBound || c.Spec.VolumeName == "" {
		return skip(routeRecorded, "claim is not bound to a volume (phase %s)", c.Status.Phase)
	}
	pv, err := s.client.CoreV1().PersistentVolumes().Get(ctx, c.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		rec.Outcome, rec.Reason = archive.VolumeFailed, fmt.Sprintf("read volume %s: %v", c.Spec.VolumeName, err)
		return rec, "", routeRecorded
	}
	if pv.Spec.CSI != nil {
		rec.Driver = pv.Spec.CSI.Driver
	}
	switch action, rule := s.opts.Policy.Decide(VolumeFacts{StorageClass: rec.StorageClass, Driver: rec.Driver,
		CapacityBytes: rec.CapacityBytes, Labels: c.Labels}); action {
	case ActionSkip:
		return skip(routeRecorded, "volume policy rule %d says skip", rule)
	case ActionFSBackup:
		return skip(routeFileSystem, "volume policy rule %d says fs-backup", rule)
	}
	if pv.Spec.CSI == nil {
		return skip(routeNoSnapshot, "volume %s is a %s volume, not CSI: cairn snapshots CSI volumes only", pv.Name, VolumeType(pv))
	}
	if !classes.served {
		return skip(routeNoSnapshot, "the cluster does not serve the snapshot API (snapshot.storage.k8s.io VolumeSnapshot CRDs): install the CSI snapshot controller")
	}
	class, why := classes.forDriver(s.opts.Class, rec.Driver)
	if class == "" {
		return skip(routeNoSnapshot, "%s", why)
	}
	return rec, class, routeSnapshot
}

// take snapshots one claim and keeps the snapshot past its namespace (docs/design/volumes.md).
func (s *Snapshotter) take(ctx context.Context, owner Owner, c candidate) archive.VolumeRecord {
	rec := c.rec
	began := s.opts.Now()
	name := ObjectName("cairn-"+owner.RecoveryPoint, owner.Repository, c.claim.Namespace, c.claim.Name)
	labels := owner.labels()
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": name, "namespace": c.claim.Namespace, "labels": labels},
		"spec": map[string]any{
			"volumeSnapshotClassName": c.class,
			"source":                  map[string]any{"persistentVolumeClaimName": c.claim.Name},
		},
	}}
	fail := func(err error) archive.VolumeRecord {
		rec.Outcome, rec.Reason = archive.VolumeFailed, err.Error()
		s.log.Warn("volume snapshot failed", "namespace", c.claim.Namespace, "claim", c.claim.Name, "error", err)
		return rec
	}
	snaps := s.dyn.Resource(SnapshotResource).Namespace(c.claim.Namespace)
	if _, err := snaps.Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		return fail(fmt.Errorf("create VolumeSnapshot %s/%s: %w", c.claim.Namespace, name, err))
	}
	snap, err := s.waitReady(ctx, c.claim.Namespace, name, s.opts.Timeout, false)
	if err != nil {
		s.discard(ctx, c.claim.Namespace, name)
		return fail(err)
	}
	cont, err := s.retain(ctx, snap.Status.BoundContent, owner)
	if err != nil {
		s.discard(ctx, c.claim.Namespace, name)
		return fail(err)
	}
	rec.Outcome = archive.VolumeSnapshotted
	rec.Snapshot = &archive.VolumeSnapshot{Class: c.class, Content: cont.Metadata.Name, Handle: cont.handle(),
		ReadySeconds: s.opts.Now().Sub(began).Seconds()}
	if cont.Status != nil && cont.Status.RestoreSize != nil {
		rec.Snapshot.RestoreSizeBytes = *cont.Status.RestoreSize
	} else if q, err := resource.ParseQuantity(snap.Status.RestoreSize); err == nil {
		rec.Snapshot.RestoreSizeBytes = q.Value()
	}
	if cont.Status != nil && cont.Status.CreationTime != nil {
		rec.Snapshot.CreatedAt = time.Unix(0, *cont.Status.CreationTime).UTC()
	} else if snap.Status.CreationTime != nil {
		rec.Snapshot.CreatedAt = snap.Status.CreationTime.UTC()
	}
	if err := s.deleteSnapshotObject(ctx, c.claim.Namespace, name); err != nil {
		// The content is retained and recorded: the snapshot is safe; only the namespaced handle
		// on it lingers until the namespace goes.
		s.log.Warn("VolumeSnapshot not removed", "namespace", c.claim.Namespace, "snapshot", name, "error", err)
	} else if err := s.keepContent(ctx, cont, owner, c.claim.Namespace, name); err != nil {
		return fail(err)
	}
	s.log.Info("volume snapshotted", "namespace", c.claim.Namespace, "claim", c.claim.Name, "content", cont.Metadata.Name,
		"readySeconds", rec.Snapshot.ReadySeconds)
	return rec
}

// waitReady waits until the VolumeSnapshot is readyToUse and bound to a content, at most timeout;
// with failOnError an error in its status ends the wait at once (the caller has another way).
func (s *Snapshotter) waitReady(ctx context.Context, ns, name string, timeout time.Duration, failOnError bool) (volumeSnapshot, error) {
	var last volumeSnapshot
	lastState := "no status yet"
	err := s.waitFor(ctx, timeout, func(ctx context.Context) (bool, error) {
		obj, err := s.dyn.Resource(SnapshotResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			lastState = err.Error()
			return false, nil
		}
		if last, err = decode[volumeSnapshot](obj); err != nil {
			return false, err
		}
		st := last.Status
		switch {
		case st == nil:
			return false, nil
		case st.Error != nil && st.Error.Message != "" && failOnError:
			return false, fmt.Errorf("VolumeSnapshot %s/%s: %s", ns, name, st.Error.Message)
		case st.Error != nil && st.Error.Message != "":
			lastState = "error: " + st.Error.Message
		case st.ReadyToUse != nil && *st.ReadyToUse && st.BoundContent != "":
			return true, nil
		case st.BoundContent != "":
			lastState = "bound to content " + st.BoundContent + ", not ready to use"
		}
		return false, nil
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return last, fmt.Errorf("VolumeSnapshot %s/%s not ready after %s (last state: %s); raise --snapshot-timeout or check the CSI driver and csi-snapshotter", ns, name, timeout, lastState)
		}
		return last, fmt.Errorf("wait for VolumeSnapshot %s/%s: %w", ns, name, err)
	}
	return last, nil
}

// retain makes the content outlive its VolumeSnapshot and labels it with its recovery point.
func (s *Snapshotter) retain(ctx context.Context, name string, owner Owner) (content, error) {
	obj, err := s.dyn.Resource(ContentResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return content{}, fmt.Errorf("read VolumeSnapshotContent %s: %w", name, err)
	}
	cont, err := decode[content](obj)
	if err != nil {
		return content{}, err
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"labels": owner.labels(), "annotations": map[string]any{AnnotationHandle: cont.handle()}},
		"spec":     map[string]any{"deletionPolicy": "Retain"},
	})
	if err != nil {
		return content{}, fmt.Errorf("encode patch: %w", err)
	}
	if _, err := s.dyn.Resource(ContentResource).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return content{}, fmt.Errorf("set VolumeSnapshotContent %s to Retain: %w", name, err)
	}
	return cont, nil
}

// keepContent makes sure the retained content outlived its VolumeSnapshot ns/vsName, which is
// gone. The snapshot controller decides from its cache whether deleting a VolumeSnapshot deletes
// its content: when the Retain patch had not reached that cache yet, it deleted the content
// object (and held the VolumeSnapshot until the object was gone). The sidecar, which reads the
// contents' changes in order, saw the patch before the deletion and kept the snapshot: the content
// is made again under its name, pre-provisioned with the same handle.
func (s *Snapshotter) keepContent(ctx context.Context, cont content, owner Owner, ns, vsName string) error {
	res := s.dyn.Resource(ContentResource)
	name := cont.Metadata.Name
	gone := false
	err := s.waitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		obj, err := res.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone = true
			return true, nil
		case err != nil:
			return false, nil
		}
		return obj.GetDeletionTimestamp() == nil, nil
	})
	if err != nil {
		return fmt.Errorf("VolumeSnapshotContent %s is being deleted by the snapshot controller: %w", name, err)
	}
	if !gone {
		return nil
	}
	s.log.Warn("the snapshot controller deleted a retained VolumeSnapshotContent: made again", "content", name, "handle", cont.handle())
	again := PreProvisionedContent(map[string]any{"name": name, "labels": owner.labels(), "annotations": map[string]any{AnnotationHandle: cont.handle()}},
		cont.Spec.Driver, cont.handle(), ns, vsName)
	if _, err := res.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("make VolumeSnapshotContent %s again after the snapshot controller deleted it: %w", name, err)
	}
	return nil
}

// deleteSnapshotObject deletes a VolumeSnapshot and waits until it is gone.
func (s *Snapshotter) deleteSnapshotObject(ctx context.Context, ns, name string) error {
	res := s.dyn.Resource(SnapshotResource).Namespace(ns)
	if err := res.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete VolumeSnapshot %s/%s: %w", ns, name, err)
	}
	return s.waitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := res.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// discard removes a VolumeSnapshot that failed; its class's deletion policy cleans up the rest.
func (s *Snapshotter) discard(ctx context.Context, ns, name string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.dyn.Resource(SnapshotResource).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		s.log.Warn("failed VolumeSnapshot not removed", "namespace", ns, "snapshot", name, "error", err)
	}
}

// VolumeType names the kind of a volume for people: hostPath, NFS, local, iSCSI, ...
func VolumeType(pv *corev1.PersistentVolume) string {
	src := pv.Spec.PersistentVolumeSource
	switch {
	case src.HostPath != nil:
		return "hostPath"
	case src.NFS != nil:
		return "NFS"
	case src.Local != nil:
		return "local"
	case src.ISCSI != nil:
		return "iSCSI"
	case src.FC != nil:
		return "Fibre Channel"
	case src.CephFS != nil || src.RBD != nil:
		return "in-tree Ceph"
	default:
		return "in-tree"
	}
}
