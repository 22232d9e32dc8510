package mover

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/internal/archive"
)

func newTestMover(t *testing.T, storage string, cred archive.Credential, env map[string]string, objects ...runtime.Object) (*Mover, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objects...)
	m, err := newWithClient(client, nil, Options{Image: "local/cairn:dev", Storage: storage, Credential: cred,
		Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	return m, client
}

func TestCopyAndFillNeedImageAndStorage(t *testing.T) {
	for _, o := range []Options{{Storage: "file:///x"}, {Image: "i"}} {
		m, err := newWithClient(fake.NewClientset(), nil, o)
		if err != nil {
			t.Fatal(err)
		}
		recs := m.Copy(t.Context(), CopyRequest{RecoveryPoint: "rp"}, []archive.VolumeRecord{{Namespace: "a", Claim: "c",
			Outcome: archive.VolumeSnapshotted, Snapshot: &archive.VolumeSnapshot{Handle: "h"}}})
		if recs[0].CopyError == "" || recs[0].Copy != nil {
			t.Fatalf("options %+v: copy %+v", o, recs[0])
		}
		if _, err := m.Fill(t.Context(), FillRequest{}); err == nil {
			t.Fatalf("options %+v: fill ran", o)
		}
	}
}

func TestBackupPodReadsReadOnlyWithLeastCapabilities(t *testing.T) {
	m, _ := newTestMover(t, "file:///var/backups/cairn", archive.Credential{Passphrase: []byte("p")}, map[string]string{"AWS_ACCESS_KEY_ID": "AK"})
	p := m.pod("n", "rp", "secret", claimData("claim", true, ""), []corev1.Capability{"DAC_READ_SEARCH"}, []string{"files", "backup", dataPath})
	c := p.Spec.Containers[0]
	sc := c.SecurityContext
	if *sc.RunAsUser != 0 || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"DAC_READ_SEARCH"}) {
		t.Fatalf("security context %+v", sc)
	}
	if !slices.Contains(c.Args, "--passphrase-file") || c.TerminationMessagePath != resultPath || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("container %+v", c)
	}
	var dataRO, repo bool
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			dataRO = v.PersistentVolumeClaim.ReadOnly
		}
		if v.HostPath != nil && v.HostPath.Path == "/var/backups/cairn" {
			repo = true
		}
	}
	if !dataRO || !repo {
		t.Fatalf("volumes %+v: data read-only %v, file repository mounted %v", p.Spec.Volumes, dataRO, repo)
	}
	var passed bool
	for _, e := range c.Env {
		if e.Name == "AWS_ACCESS_KEY_ID" && e.ValueFrom.SecretKeyRef.Name == "secret" {
			passed = true
		}
	}
	if !passed || p.Labels[LabelMover] != "rp" {
		t.Fatalf("env %+v, labels %v", c.Env, p.Labels)
	}
}

// TestBlockVolumeIsADeviceInThePod: a Block claim reaches the pod as a device, never mounted,
// and the mover's claim asks for Block mode.
func TestBlockVolumeIsADeviceInThePod(t *testing.T) {
	m, _ := newTestMover(t, "file:///var/backups/cairn", archive.Credential{Passphrase: []byte("p")}, nil)
	data := claimData("claim", true, string(corev1.PersistentVolumeBlock))
	p := m.pod("n", "rp", "secret", data, readCapabilities, m.backupArgs("rp", "c/ns/disk", archive.VolumeRecord{}, data.path()))
	c := p.Spec.Containers[0]
	if len(c.VolumeDevices) != 1 || c.VolumeDevices[0].Name != "data" || c.VolumeDevices[0].DevicePath != devicePath {
		t.Fatalf("volume devices %+v", c.VolumeDevices)
	}
	for _, vm := range c.VolumeMounts {
		if vm.Name == "data" {
			t.Fatalf("the Block volume is also mounted: %+v", vm)
		}
	}
	if c.Args[2] != devicePath {
		t.Fatalf("args %v: want the device backed up", c.Args)
	}
	claim := m.claim("n", "rp", nil, resource.MustParse("1Gi"), nil, string(corev1.PersistentVolumeBlock), nil)
	if *claim.Spec.VolumeMode != corev1.PersistentVolumeBlock {
		t.Fatalf("mover claim volume mode %v", *claim.Spec.VolumeMode)
	}
	if fs := m.claim("n", "rp", nil, resource.MustParse("1Gi"), nil, "", nil); *fs.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Fatalf("mover claim volume mode %v, want Filesystem", *fs.Spec.VolumeMode)
	}
}

func TestRemoteRepositoryIsNotMountedAndKeyFileTravels(t *testing.T) {
	m, _ := newTestMover(t, "s3://bucket/prefix?endpoint=http://127.0.0.1:7070", archive.Credential{KeyFile: []byte("0123456789abcdef0123456789abcdef")}, nil)
	p := m.pod("n", "rp", "secret", claimData("claim", false, ""), nil, nil)
	for _, v := range p.Spec.Volumes {
		if v.HostPath != nil {
			t.Fatalf("a remote repository mounted from the node: %+v", v)
		}
	}
	if !slices.Contains(p.Spec.Containers[0].Args, "--key-file") {
		t.Fatalf("args %v", p.Spec.Containers[0].Args)
	}
	s := m.credentialSecret("n", "rp")
	if string(s.Data[keyKeyFile]) != "0123456789abcdef0123456789abcdef" || len(s.Data) != 1 {
		t.Fatalf("secret data %v", s.Data)
	}
}

func TestParseResult(t *testing.T) {
	r, err := parseResult(`{"fileSnapshot":"ab12","files":3,"bytes":10}`)
	if err != nil || r.FileSnapshot != "ab12" || r.Files != 3 {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{"", "not json", `{"files":1}`, strings.Repeat("x", ResultMaxBytes+1)} {
		if _, err := parseResult(bad); err == nil {
			t.Fatalf("%.20q accepted", bad)
		}
	}
}

func TestSweepRemovesOnlyOldLabelledObjects(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	old := metav1.NewTime(start.Add(-time.Hour))
	young := metav1.NewTime(start.Add(time.Minute))
	meta := func(name string, created metav1.Time, labelled bool) metav1.ObjectMeta {
		o := metav1.ObjectMeta{Name: name, Namespace: "cairn-system", CreationTimestamp: created}
		if labelled {
			o.Labels = map[string]string{LabelMover: "rp"}
		}
		return o
	}
	pvMeta := func(name string, created metav1.Time) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, CreationTimestamp: created, Labels: map[string]string{LabelMover: "r"},
			Annotations: map[string]string{annotationReclaim: "Delete"}}
	}
	m, client := newTestMover(t, "file:///r", archive.Credential{Passphrase: []byte("p")}, nil,
		&corev1.Pod{ObjectMeta: meta("old-pod", old, true)},
		&corev1.Pod{ObjectMeta: meta("young-pod", young, true)},
		&corev1.Pod{ObjectMeta: meta("app-pod", old, false)},
		&corev1.PersistentVolumeClaim{ObjectMeta: meta("old-claim", old, true)},
		&corev1.Secret{ObjectMeta: meta("old-secret", old, true)},
		&corev1.PersistentVolume{ObjectMeta: pvMeta("unclaimed", old), Spec: corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable}},
		&corev1.PersistentVolume{ObjectMeta: pvMeta("bound", old), Spec: corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
	)
	s, err := m.Sweep(t.Context(), start)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pods != 1 || s.Claims != 1 || s.Secrets != 1 || s.Volumes != 1 {
		t.Fatalf("swept %+v", s)
	}
	pods, _ := client.CoreV1().Pods("cairn-system").List(t.Context(), metav1.ListOptions{})
	var left []string
	for _, p := range pods.Items {
		left = append(left, p.Name)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"app-pod", "young-pod"}) {
		t.Fatalf("pods left %v", left)
	}
	unclaimed, _ := client.CoreV1().PersistentVolumes().Get(t.Context(), "unclaimed", metav1.GetOptions{})
	if unclaimed.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || unclaimed.Spec.ClaimRef == nil ||
		!strings.HasPrefix(string(unclaimed.Spec.ClaimRef.UID), "cairn-discarded-") {
		t.Fatalf("an unclaimed filled volume is released to be reclaimed: %+v", unclaimed.Spec)
	}
	bound, _ := client.CoreV1().PersistentVolumes().Get(t.Context(), "bound", metav1.GetOptions{})
	if bound.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || bound.Labels[LabelMover] != "" {
		t.Fatalf("a bound filled volume gets its policy back: %+v %v", bound.Spec.PersistentVolumeReclaimPolicy, bound.Labels)
	}
}
