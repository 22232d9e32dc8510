package mover

import (
	"net/url"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/scope"
)

// Paths inside a mover pod: a Filesystem volume is mounted at dataPath, a Block one is the
// device at devicePath.
const (
	dataPath       = "/data"
	devicePath     = "/dev/cairn-volume"
	credentialPath = "/var/run/cairn-mover"
	resultPath     = "/dev/termination-log"
)

// Secret keys of the repository credential.
const (
	keyPassphrase = "passphrase"
	keyKeyFile    = "key"
)

// labels marks an object of the mover serving owner (a recovery point or a restore).
func labels(owner string) map[string]string {
	return map[string]string{LabelMover: owner, scope.ExcludeAnnotation: "true"}
}

// credentialSecret holds what a pod needs to open the repository: the credential as a file and
// the storage credentials of this process's environment.
func (m *Mover) credentialSecret(name, owner string) *corev1.Secret {
	data := map[string][]byte{}
	if len(m.opts.Credential.KeyFile) > 0 {
		data[keyKeyFile] = m.opts.Credential.KeyFile
	} else {
		data[keyPassphrase] = m.opts.Credential.Passphrase
	}
	for k, v := range blobopen.PassCredentials(m.opts.Getenv) {
		data[k] = []byte(v)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.opts.Namespace, Labels: labels(owner)},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
}

// credentialArgs are the cairn flags that read the credential the Secret holds.
func (m *Mover) credentialArgs() []string {
	if len(m.opts.Credential.KeyFile) > 0 {
		return []string{"--key-file", credentialPath + "/" + keyKeyFile}
	}
	return []string{"--passphrase-file", credentialPath + "/" + keyPassphrase}
}

// claim is a claim in the mover namespace, of the volume mode given (Filesystem when empty).
func (m *Mover) claim(name, owner string, class *string, size resource.Quantity, modes []corev1.PersistentVolumeAccessMode,
	volumeMode string, source *corev1.TypedLocalObjectReference) *corev1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	fs := corev1.PersistentVolumeFilesystem
	if isBlock(volumeMode) {
		fs = corev1.PersistentVolumeBlock
	}
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.opts.Namespace, Labels: labels(owner)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			StorageClassName: class,
			VolumeMode:       &fs,
			DataSource:       source,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
}

// dataVolume is what a mover pod works on: a claim in the mover namespace, mounted at /data or,
// in Block mode, the device at /dev/cairn-volume; or the files of a volume on its node (the
// file-system backup).
type dataVolume struct {
	source   corev1.VolumeSource
	readOnly bool
	block    bool
	// propagation, if set, lets mounts made on the node under the path show in the pod.
	propagation *corev1.MountPropagationMode
}

// claimData is a claim of the mover namespace, of the volume mode given, as the pod's data.
func claimData(claim string, readOnly bool, volumeMode string) dataVolume {
	return dataVolume{readOnly: readOnly, block: isBlock(volumeMode), source: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: readOnly}}}
}

// path is where the pod finds the data.
func (d dataVolume) path() string {
	if d.block {
		return devicePath
	}
	return dataPath
}

// isBlock reports whether a claim's volume mode is Block (an empty one is Filesystem).
func isBlock(volumeMode string) bool {
	return volumeMode == string(corev1.PersistentVolumeBlock)
}

// pod runs cairn with args over data, mounted at /data, as root with only the capabilities the
// work needs.
func (m *Mover) pod(name, owner, secret string, data dataVolume, caps []corev1.Capability, args []string) *corev1.Pod {
	yes, no, root := true, false, int64(0)
	deadline := int64(m.opts.Timeout.Seconds())
	volumes := []corev1.Volume{
		{Name: "data", VolumeSource: data.source},
		{Name: "credential", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret,
			Items: []corev1.KeyToPath{{Key: m.credentialKey(), Path: m.credentialKey()}}}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	var mounts []corev1.VolumeMount
	var devices []corev1.VolumeDevice
	if data.block {
		devices = []corev1.VolumeDevice{{Name: "data", DevicePath: devicePath}}
	} else {
		mounts = append(mounts, corev1.VolumeMount{Name: "data", MountPath: dataPath, ReadOnly: data.readOnly, MountPropagation: data.propagation})
	}
	mounts = append(mounts,
		corev1.VolumeMount{Name: "credential", MountPath: credentialPath, ReadOnly: true},
		corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"})
	if dir := localRepository(m.opts.Storage); dir != "" {
		hostDir := corev1.HostPathDirectory
		volumes = append(volumes, corev1.Volume{Name: "repository", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostDir}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "repository", MountPath: dir})
	}
	var env []corev1.EnvVar
	for _, k := range blobopen.CredentialEnv() {
		if m.opts.Getenv(k) != "" {
			env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: k}}})
		}
	}
	env = append(env, corev1.EnvVar{Name: "HOME", Value: "/tmp"})
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.opts.Namespace, Labels: labels(owner)},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         &deadline,
			AutomountServiceAccountToken:  &no,
			HostNetwork:                   m.opts.HostNetwork,
			TerminationGracePeriodSeconds: new(int64(5)),
			Volumes:                       volumes,
			Containers: []corev1.Container{{
				Name:                     "mover",
				Image:                    m.opts.Image,
				ImagePullPolicy:          corev1.PullIfNotPresent,
				Args:                     append(args, m.credentialArgs()...),
				Env:                      env,
				VolumeMounts:             mounts,
				VolumeDevices:            devices,
				TerminationMessagePath:   resultPath,
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				SecurityContext: &corev1.SecurityContext{
					RunAsUser: &root, RunAsGroup: &root, RunAsNonRoot: &no,
					ReadOnlyRootFilesystem: &yes, AllowPrivilegeEscalation: &no,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: caps},
				},
			}},
		},
	}
	if m.opts.HostNetwork {
		p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	}
	return p
}

func (m *Mover) credentialKey() string {
	if len(m.opts.Credential.KeyFile) > 0 {
		return keyKeyFile
	}
	return keyPassphrase
}

// localRepository is the directory of a file:// repository, which the pod mounts from the node;
// empty for remote storage.
func localRepository(storage string) string {
	u, err := url.Parse(storage)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.Clean(u.Path)
}
