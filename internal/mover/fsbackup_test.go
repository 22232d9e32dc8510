package mover

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairnbackup/cairn/internal/archive"
)

// TestFSBackupPodReadsEachKindOfVolume: the pod a file-system backup runs, per kind of volume,
// with and without a running pod that mounts it.
func TestFSBackupPodReadsEachKindOfVolume(t *testing.T) {
	pv := func(name string, src corev1.PersistentVolumeSource, affinity *corev1.VolumeNodeAffinity) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: src, NodeAffinity: affinity}}
	}
	nodeTerm := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
		{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-b"}}}}}}
	app := func(name, claim string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name, UID: types.UID("uid-" + name)},
			Spec: corev1.PodSpec{NodeName: "node-a", Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}},
			Status: corev1.PodStatus{Phase: phase}}
	}
	objects := []runtime.Object{
		pv("host", corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/data"}}, nil),
		pv("local", corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk1"}}, &corev1.VolumeNodeAffinity{Required: nodeTerm}),
		pv("nfs", corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nas", Path: "/export"}}, nil),
		pv("csi", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "d", VolumeHandle: "h"}}, nil),
		pv("iscsi", corev1.PersistentVolumeSource{ISCSI: &corev1.ISCSIPersistentVolumeSource{TargetPortal: "p", IQN: "i"}}, nil),
		pv("flex", corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: "f"}}, nil),
		app("a-done", "host-claim", corev1.PodSucceeded),
		app("b-runs", "host-claim", corev1.PodRunning),
		app("c-runs", "csi-claim", corev1.PodRunning),
		app("d-runs", "iscsi-claim", corev1.PodRunning),
	}
	m, _ := newTestMover(t, "file:///var/backups/cairn", archive.Credential{Passphrase: []byte("p")}, nil, objects...)
	m.opts.KubeletRoot = "/k"
	cases := []struct {
		name, claim, volume string
		node                string
		affinity            bool
		hostPath, nfs       string
		propagated          bool
		cannot              string
	}{
		{name: "hostPath on its pod's node", claim: "host-claim", volume: "host", node: "node-a", hostPath: "/srv/data"},
		{name: "hostPath without a pod", claim: "idle", volume: "host", hostPath: "/srv/data"},
		{name: "local on its affinity's node", claim: "idle", volume: "local", affinity: true, hostPath: "/mnt/disk1"},
		{name: "NFS", claim: "idle", volume: "nfs", nfs: "nas:/export"},
		{name: "CSI from the kubelet's pod directory", claim: "csi-claim", volume: "csi", node: "node-a",
			hostPath: "/k/pods/uid-c-runs/volumes/kubernetes.io~csi/csi/mount", propagated: true},
		{name: "iSCSI from the kubelet's pod directory", claim: "iscsi-claim", volume: "iscsi", node: "node-a",
			hostPath: "/k/pods/uid-d-runs/volumes/kubernetes.io~iscsi/iscsi", propagated: true},
		{name: "CSI without a pod", claim: "idle", volume: "csi", cannot: "no running pod mounts it"},
		{name: "flexVolume", claim: "idle", volume: "flex", cannot: "cannot be read by the file-system backup"},
	}
	for _, c := range cases {
		where, cannot, err := m.locate(t.Context(), "app", c.claim, c.volume)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.cannot != "" {
			if !strings.Contains(cannot, c.cannot) {
				t.Errorf("%s: cannot %q, want %q", c.name, cannot, c.cannot)
			}
			continue
		}
		if cannot != "" {
			t.Fatalf("%s: cannot %q", c.name, cannot)
		}
		rec := archive.VolumeRecord{Namespace: "app", Claim: c.claim, Volume: c.volume}
		p := m.fsPod("cairn-mover-x", "rp", "cluster/app/"+c.claim, rec, where)
		if p.Spec.NodeName != c.node || (p.Spec.Affinity != nil) != c.affinity {
			t.Errorf("%s: node %q, affinity %+v", c.name, p.Spec.NodeName, p.Spec.Affinity)
		}
		data := p.Spec.Volumes[0]
		mount := p.Spec.Containers[0].VolumeMounts[0]
		if data.Name != "data" || mount.MountPath != dataPath || !mount.ReadOnly || (mount.MountPropagation != nil) != c.propagated {
			t.Errorf("%s: data volume %+v mounted %+v", c.name, data, mount)
		}
		switch {
		case c.hostPath != "":
			if data.HostPath == nil || data.HostPath.Path != c.hostPath || *data.HostPath.Type != corev1.HostPathDirectory {
				t.Errorf("%s: data %+v, want hostPath %s", c.name, data.VolumeSource, c.hostPath)
			}
		case c.nfs != "":
			if data.NFS == nil || data.NFS.Server+":"+data.NFS.Path != c.nfs || !data.NFS.ReadOnly {
				t.Errorf("%s: data %+v, want NFS %s", c.name, data.VolumeSource, c.nfs)
			}
		}
		args := p.Spec.Containers[0].Args
		if !slices.Contains(args, "cluster/app/"+c.claim) || args[0] != "files" || args[1] != "backup" {
			t.Errorf("%s: args %v", c.name, args)
		}
	}
}

func TestFSBackupSkipsBlockVolumes(t *testing.T) {
	m, _ := newTestMover(t, "file:///r", archive.Credential{Passphrase: []byte("p")}, nil)
	block := archive.VolumeRecord{Namespace: "app", Claim: "raw", Volume: "v", VolumeMode: string(corev1.PersistentVolumeBlock),
		Outcome: archive.VolumeSkipped, Reason: "volume v is a local volume, not CSI"}
	out := m.BackupFiles(t.Context(), FSBackupRequest{RecoveryPoint: "rp", ClusterID: "c"}, []archive.VolumeRecord{block})
	if out[0].Outcome != archive.VolumeSkipped || !strings.Contains(out[0].Reason, "not CSI; not backed up through its files: a Block volume has no files") {
		t.Fatalf("%+v", out[0])
	}
	missing := archive.VolumeRecord{Namespace: "app", Claim: "c", Volume: "gone", Outcome: archive.VolumeSkipped}
	out = m.BackupFiles(t.Context(), FSBackupRequest{RecoveryPoint: "rp", ClusterID: "c"}, []archive.VolumeRecord{missing})
	if out[0].Outcome != archive.VolumeFailed || !strings.HasPrefix(out[0].Reason, "file-system backup failed: read volume gone") {
		t.Fatalf("%+v", out[0])
	}
}
