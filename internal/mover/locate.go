package mover

import (
	"context"
	"fmt"
	"path"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/snapshot"
)

// placement is where and how a mover pod reads a volume's files in place.
type placement struct {
	data dataVolume
	// node runs the pod (the node of the pod that mounts the volume); empty leaves it to the
	// scheduler, within affinity if set.
	node     string
	affinity *corev1.NodeSelector
	// from says where the files are read, for logs.
	from string
}

// locate finds where the volume of a claim can be read (docs/design/volumes.md, "File-system
// backup of volumes without snapshots"). It returns why it cannot when the volume cannot be read,
// and an error when the cluster could not be asked.
func (m *Mover) locate(ctx context.Context, namespace, claim, volume string) (placement, string, error) {
	pv, err := m.client.CoreV1().PersistentVolumes().Get(ctx, volume, metav1.GetOptions{})
	if err != nil {
		return placement{}, "", fmt.Errorf("read volume %s: %w", volume, err)
	}
	pod, err := m.runningPod(ctx, namespace, claim)
	if err != nil {
		return placement{}, "", err
	}
	var p placement
	if pod != nil {
		p.node, p.from = pod.Spec.NodeName, fmt.Sprintf("node %s (pod %s)", pod.Spec.NodeName, pod.Name)
	} else if pv.Spec.NodeAffinity != nil {
		p.affinity, p.from = pv.Spec.NodeAffinity.Required, "the volume's node affinity"
	}
	dir := corev1.HostPathDirectory
	src := pv.Spec.PersistentVolumeSource
	switch {
	case src.HostPath != nil:
		p.data = dataVolume{readOnly: true, source: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: src.HostPath.Path, Type: &dir}}}
	case src.Local != nil:
		p.data = dataVolume{readOnly: true, source: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: src.Local.Path, Type: &dir}}}
	case src.NFS != nil:
		p.data = dataVolume{readOnly: true, source: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: src.NFS.Server, Path: src.NFS.Path, ReadOnly: true}}}
	default:
		sub := podVolumeDir(pv)
		if sub == "" {
			return placement{}, fmt.Sprintf("a %s volume cannot be read by the file-system backup", snapshot.VolumeType(pv)), nil
		}
		if pod == nil {
			return placement{}, "no running pod mounts it: the volume cannot be read", nil
		}
		propagation := corev1.MountPropagationHostToContainer
		hostPath := path.Join(m.opts.KubeletRoot, "pods", string(pod.UID), "volumes", sub)
		p.data = dataVolume{readOnly: true, propagation: &propagation,
			source: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostPath, Type: &dir}}}
	}
	if p.from == "" {
		p.from = "any node"
	}
	return p, "", nil
}

// podVolumeDir is where the kubelet mounts the volume into a pod, under the pod's volumes
// directory; empty for a type the file-system backup cannot read there.
func podVolumeDir(pv *corev1.PersistentVolume) string {
	src := pv.Spec.PersistentVolumeSource
	switch {
	case src.ISCSI != nil:
		return path.Join("kubernetes.io~iscsi", pv.Name)
	case src.FC != nil:
		return path.Join("kubernetes.io~fc", pv.Name)
	case src.RBD != nil:
		return path.Join("kubernetes.io~rbd", pv.Name)
	case src.CephFS != nil:
		return path.Join("kubernetes.io~cephfs", pv.Name)
	case src.CSI != nil,
		// In-tree types the kubelet hands to their CSI driver (CSI migration).
		src.AWSElasticBlockStore != nil, src.GCEPersistentDisk != nil, src.AzureDisk != nil, src.AzureFile != nil,
		src.Cinder != nil, src.VsphereVolume != nil, src.PortworxVolume != nil:
		return path.Join("kubernetes.io~csi", pv.Name, "mount")
	}
	return ""
}

// runningPod is the first Running pod, by name, in namespace that mounts claim; nil if none.
func (m *Mover) runningPod(ctx context.Context, namespace, claim string) (*corev1.Pod, error) {
	pods, err := m.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods in namespace %s: %w", namespace, err)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for i, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName == "" || p.DeletionTimestamp != nil {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
				return &pods.Items[i], nil
			}
		}
	}
	return nil, nil
}
