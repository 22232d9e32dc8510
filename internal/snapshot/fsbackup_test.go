package snapshot

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/internal/archive"
)

func TestFSBackupOptIn(t *testing.T) {
	on := map[string]string{AnnotationFSBackup: "true"}
	off := map[string]string{AnnotationFSBackup: "false"}
	cases := []struct {
		name      string
		ns, claim map[string]string
		want      bool
	}{
		{"nothing", nil, nil, false},
		{"namespace", on, nil, true},
		{"claim", nil, on, true},
		{"claim opts out of its namespace", on, off, false},
		{"namespace false, claim true", off, on, true},
		{"other values are no opt-in", map[string]string{AnnotationFSBackup: "yes"}, nil, false},
	}
	for _, c := range cases {
		if got := FSBackupOptIn(c.ns, c.claim); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPolicyParsesFSBackup(t *testing.T) {
	p, err := ParsePolicy([]byte("volumePolicies: [{conditions: {storageClass: [manual]}, action: fs-backup}]"))
	if err != nil {
		t.Fatal(err)
	}
	if a, rule := p.Decide(VolumeFacts{StorageClass: "manual"}); a != ActionFSBackup || rule != 1 {
		t.Fatalf("decided %s by rule %d", a, rule)
	}
}

// TestAssessRoutesClaims: which claims are snapshotted, final, or candidates of the file-system
// backup, and how Protection files the ones not snapshotted.
func TestAssessRoutesClaims(t *testing.T) {
	bound := func(name, class, volume string, labels map[string]string) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name, Labels: labels},
			Spec:   corev1.PersistentVolumeClaimSpec{StorageClassName: &class, VolumeName: volume},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	}
	pv := func(name string, src corev1.PersistentVolumeSource) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: src}}
	}
	client := fake.NewClientset(
		pv("host", corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv"}}),
		pv("disk", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "disk"}}),
		pv("plain", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "plain"}}),
	)
	policy, err := ParsePolicy([]byte(`volumePolicies:
- {conditions: {pvcLabels: {tier: scratch}}, action: skip}
- {conditions: {pvcLabels: {tier: files}}, action: fs-backup}`))
	if err != nil {
		t.Fatal(err)
	}
	s := newWithClients(client, nil, Options{Policy: policy})
	cls := &classes{served: true, driverOf: map[string]string{"fast": "disk"}, defaults: map[string][]string{"disk": {"fast"}}}
	cases := []struct {
		name   string
		claim  corev1.PersistentVolumeClaim
		route  route
		reason string
	}{
		{"unbound", corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "u"}}, routeRecorded, "not bound"},
		{"hostPath", bound("h", "manual", "host", nil), routeNoSnapshot, "hostPath volume, not CSI"},
		{"CSI with a class", bound("d", "std", "disk", nil), routeSnapshot, ""},
		{"CSI without a class", bound("p", "std", "plain", nil), routeNoSnapshot, "no default VolumeSnapshotClass"},
		{"rule skips a hostPath volume", bound("s", "manual", "host", map[string]string{"tier": "scratch"}), routeRecorded, "rule 1 says skip"},
		{"rule sends a snapshottable volume to fs-backup", bound("f", "std", "disk", map[string]string{"tier": "files"}), routeFileSystem, "rule 2 says fs-backup"},
		{"missing volume", bound("m", "std", "gone", nil), routeRecorded, "read volume gone"},
	}
	for _, c := range cases {
		rec, _, r := s.assess(t.Context(), c.claim, cls)
		if r != c.route || !strings.Contains(rec.Reason, c.reason) {
			t.Errorf("%s: route %d reason %q, want %d %q", c.name, r, rec.Reason, c.route, c.reason)
		}
	}

	var p Protection
	skipped := archive.VolumeRecord{Namespace: "app", Claim: "x", Outcome: archive.VolumeSkipped, Reason: "not CSI"}
	p.add(skipped, routeNoSnapshot, false)
	p.add(skipped, routeNoSnapshot, true)
	p.add(skipped, routeFileSystem, false)
	p.add(skipped, routeRecorded, true)
	if len(p.Records) != 2 || len(p.FileSystem) != 2 {
		t.Fatalf("records %+v, file system %+v", p.Records, p.FileSystem)
	}
	if !strings.Contains(p.Records[0].Reason, AnnotationFSBackup+"=true") || strings.Contains(p.Records[1].Reason, AnnotationFSBackup) ||
		p.FileSystem[0].Reason != "not CSI" {
		t.Fatalf("reasons: %q, %q, %q", p.Records[0].Reason, p.Records[1].Reason, p.FileSystem[0].Reason)
	}
}
