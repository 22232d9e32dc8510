package agent

import (
	"log/slog"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// TestWordingNamesTheGrant: the pre-flight's and validation's wording say how to get what the agent
// lacks by the grant its ClusterRole is: the restore grant (in the agent's namespace) for the
// backup-only one, the trust grant's ClusterRole for the full one, both when it cannot be read.
func TestWordingNamesTheGrant(t *testing.T) {
	role := func(grant string) runtime.Object {
		g, err := trustgrant.NewOf(grant, "", true)
		if err != nil {
			t.Fatal(err)
		}
		return g.ClusterRole
	}
	for _, tc := range []struct {
		name      string
		objects   []runtime.Object
		namespace string
		grant     []string // in Grant
		restores  string   // in Restores ("": empty)
	}{
		{"backup-only", []runtime.Object{role(trustgrant.GrantBackupOnly)}, "cairn-system",
			[]string{"the agent holds the backup-only grant: apply the restore grant with `cairn agent grant-restore` (with your kubeconfig)", "`cairn agent revoke-restore`"},
			"it holds the backup-only grant: restores and test restores need the restore grant (apply the restore grant with `cairn agent grant-restore`"},
		{"backup-only elsewhere", []runtime.Object{role(trustgrant.GrantBackupOnly)}, "backups",
			[]string{"the agent holds the backup-only grant: apply the restore grant with `cairn agent grant-restore -n backups`"}, "grant-restore -n backups"},
		{"full", []runtime.Object{role(trustgrant.GrantFull)}, "cairn-system",
			[]string{"grant it to the agent's identity in this cluster (the ClusterRole cairn-agent"}, ""},
		{"unreadable", nil, "",
			[]string{"the ClusterRole cairn-agent of the trust grant's manifest", "--grant backup-only needs the restore grant: apply the restore grant with `cairn agent grant-restore`"}, ""},
		{"someone else's role", []runtime.Object{&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "other"}}}, "",
			[]string{"--grant backup-only needs the restore grant"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &agent{log: slog.New(slog.DiscardHandler), cluster: &clusterReader{client: fake.NewClientset(tc.objects...)},
				opts: Options{Version: "v0.test", Getenv: func(k string) string {
					if k == trustgrant.EnvPodNamespace {
						return tc.namespace
					}
					return ""
				}}}
			w := a.wording(t.Context(), agentv1.StorageLocation{PassphraseSecret: "repo"})
			for _, want := range tc.grant {
				if !strings.Contains(w.Grant, want) {
					t.Errorf("Grant lacks %q: %s", want, w.Grant)
				}
			}
			if (tc.restores == "") != (w.Restores == "") || !strings.Contains(w.Restores, tc.restores) {
				t.Errorf("Restores: %q, want one with %q", w.Restores, tc.restores)
			}
			if w.Subject != "the agent" || w.RunnerCheck != checkAgent || !strings.Contains(w.Credential, `"repo"`) {
				t.Errorf("wording: %+v", w)
			}
		})
	}
}
