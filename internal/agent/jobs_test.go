package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/usecase"
)

const testPassphrase = "correct horse battery staple"

func TestSecretLookup(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "repo-pass"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CAIRN_SECRET_REPO_PASS": "from-env", "CAIRN_SECRET_OTHER_KEY_V2": "other"}
	a := &agent{opts: Options{SecretsDir: dir}, getenv: func(k string) string { return env[k] }}

	for _, tc := range []struct {
		name, want, err string
	}{
		{name: "repo-pass", want: "from-file"}, // the file wins over the environment
		{name: "other-key.v2", want: "other"},  // '-' and '.' become '_'
		{name: "missing", err: `"missing" is in neither place the agent looks (no file ` + filepath.Join(dir, "missing") + `, and environment variable CAIRN_SECRET_MISSING is not set)`},
		{name: "empty", err: "is empty"},
		{name: "../etc/passwd", err: "use letters, digits"},
		{name: "", err: "names no passphrase secret"},
	} {
		got, err := a.secret(tc.name)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || string(got) != tc.want):
			t.Errorf("%q = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := a.secret("missing"); !errors.Is(err, ErrSecretNotFound) {
		t.Errorf("missing secret: %v does not wrap ErrSecretNotFound", err)
	}

	a.opts.SecretsDir = ""
	if got, err := a.secret("repo-pass"); err != nil || string(got) != "from-env" {
		t.Errorf("without a secrets dir: %q, %v", got, err)
	}
	if _, err := a.secret("missing"); err == nil || !strings.Contains(err.Error(), "no --secrets-dir is set") {
		t.Errorf("without a secrets dir, missing: %v", err)
	}
}

// testRepository makes a repository in a directory, with cheap key derivation, holding a recovery
// point of two ConfigMaps; it returns the storage URL.
func testRepository(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	st, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	repo, err := archive.Init(ctx, st, archive.Credential{Passphrase: []byte(testPassphrase)},
		archive.InitOptions{Encrypt: true, KDF: archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	s := w.NewSink()
	key := archive.GroupKey{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespace: "shop"}
	for i := range 2 {
		item := fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d","namespace":"shop"}}`, i)
		if err := s.Add(ctx, key, true, item); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, archive.RecoveryPoint{Result: archive.BackupResult{Phase: archive.PhaseCompleted}}); err != nil {
		t.Fatal(err)
	}
	return "file://" + dir
}

func TestVerifyAndDeleteJobs(t *testing.T) {
	url := testRepository(t, "shop-1")
	storage := agentv1.StorageLocation{URL: url, PassphraseSecret: "repo"}
	v := newFakeVault(t)
	v.enqueue(
		&agentv1.Job{ID: 1, Kind: agentv1.KindVerify, Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{RecoveryPoint: "shop-1", Storage: storage}}},
		&agentv1.Job{ID: 2, Kind: agentv1.KindRetentionDelete, Spec: agentv1.JobSpec{Delete: &agentv1.DeleteJob{RecoveryPoint: "shop-1", Storage: storage, Reason: "expired"}}},
		&agentv1.Job{ID: 3, Kind: agentv1.KindRetentionDelete, Spec: agentv1.JobSpec{Delete: &agentv1.DeleteJob{RecoveryPoint: "shop-1", Storage: storage, Reason: "expired"}}},
		&agentv1.Job{ID: 4, Kind: agentv1.KindVerify, Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{RecoveryPoint: "shop-1", Storage: storage}}},
		&agentv1.Job{ID: 5, Kind: agentv1.KindVerify, Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{RecoveryPoint: "shop-1",
			Storage: agentv1.StorageLocation{URL: url, PassphraseSecret: "wrong"}}}},
	)
	env := map[string]string{"CAIRN_SECRET_REPO": testPassphrase, "CAIRN_SECRET_WRONG": "not it"}
	a, _ := testAgent(t, v, func(o *Options) { o.Getenv = func(k string) string { return env[k] } }, nil)
	start(t, a)
	waitFor(t, "five completions", func() bool { return len(v.completion(5)) > 0 })

	if c := v.completion(1)[0]; c.State != agentv1.JobSucceeded {
		t.Errorf("verify: %+v", c)
	}
	if !hasLog(v.logs(1), "recovery point intact recoveryPoint=shop-1 files=2 sections=1 items=2") {
		t.Errorf("verify log: %+v", v.logs(1))
	}
	if c := v.completion(2)[0]; c.State != agentv1.JobSucceeded || !hasLog(v.logs(2), "recovery point deleted recoveryPoint=shop-1 files=3") {
		t.Errorf("delete: %+v\n%+v", c, v.logs(2))
	}
	if c := v.completion(3)[0]; c.State != agentv1.JobSucceeded || !hasLog(v.logs(3), "recovery point already gone") {
		t.Errorf("second delete: %+v\n%+v", c, v.logs(3))
	}
	if c := v.completion(4)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "backup not found") {
		t.Errorf("verify of a deleted recovery point: %+v", c)
	}
	if c := v.completion(5)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, `passphrase secret "wrong" of this agent does not unlock it`) {
		t.Errorf("wrong passphrase: %+v", c)
	}
}

func TestMissingSecretFailsJobs(t *testing.T) {
	url := testRepository(t, "shop-1")
	storage := agentv1.StorageLocation{URL: url, PassphraseSecret: "absent"}
	v := newFakeVault(t)
	v.enqueue(
		&agentv1.Job{ID: 1, Kind: agentv1.KindBackup, Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{RecoveryPoint: "shop-2", Storage: storage}}},
		&agentv1.Job{ID: 2, Kind: agentv1.KindRestore, Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{Name: "r1", RecoveryPoint: "shop-1", Storage: storage}}},
	)
	a, _ := testAgent(t, v, nil, nil)
	start(t, a)
	waitFor(t, "two completions", func() bool { return len(v.completion(2)) > 0 && len(v.completion(1)) > 0 })
	if c := v.completion(1)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, `"absent" is in neither place`) || !strings.Contains(c.Error, "CAIRN_SECRET_ABSENT") {
		t.Errorf("backup: %+v", c)
	}
	c := v.completion(2)[0]
	if c.State != agentv1.JobFailed || c.Result == nil || len(c.Result.Checks) != 2 {
		t.Fatalf("restore: %+v", c)
	}
	agentCheck, storageCheck := c.Result.Checks[0], c.Result.Checks[1]
	if agentCheck.Name != checkAgent || !agentCheck.OK || !strings.Contains(agentCheck.Message, "v1.99.0") {
		t.Errorf("agent check: %+v", agentCheck)
	}
	if storageCheck.Name != usecase.CheckStorage || storageCheck.OK || !strings.Contains(storageCheck.Message, "CAIRN_SECRET_ABSENT") {
		t.Errorf("storage check: %+v", storageCheck)
	}
	if !strings.HasPrefix(c.Error, "pre-flight check storage failed: ") {
		t.Errorf("error = %q", c.Error)
	}
}

func TestRestoreOptionsRejected(t *testing.T) {
	a := &agent{}
	for name, spec := range map[string]agentv1.RestoreJob{
		"name":      {Name: "Bad Name", RecoveryPoint: "x"},
		"policy":    {Name: "r", Options: agentv1.RestoreOptions{ConflictPolicy: "merge"}},
		"volumes":   {Name: "r", Options: agentv1.RestoreOptions{Volumes: "copy"}},
		"scope":     {Name: "r", Options: agentv1.RestoreOptions{ClusterResources: "maybe"}},
		"mapping":   {Name: "r", Options: agentv1.RestoreOptions{NamespaceMapping: map[string]string{"shop": ""}}},
		"modifiers": {Name: "r", Options: agentv1.RestoreOptions{Modifiers: "version: v1\nresourceModifierRules: [{bogus: 1}]"}},
	} {
		if _, err := a.restoreOptions(&spec); err == nil {
			t.Errorf("%s: accepted %+v", name, spec.Options)
		}
	}
	o, err := a.restoreOptions(&agentv1.RestoreJob{Name: "r", RecoveryPoint: "b", Options: agentv1.RestoreOptions{
		IncludeNamespaces: []string{"shop"}, NamespaceMapping: map[string]string{"shop": "shop-copy"},
		Modifiers: "version: v1\nresourceModifierRules:\n- conditions:\n    groupResource: configmaps\n  patches:\n  - operation: add\n    path: /metadata/labels/x\n    value: \"y\"\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if o.ConflictPolicy != restore.ConflictSkip || o.Modifiers == nil || o.NamespaceMapping["shop"] != "shop-copy" || o.Backup != "b" {
		t.Errorf("options = %+v", o)
	}
}

func TestRestoreSummary(t *testing.T) {
	real := &restore.Result{Name: "r", Phase: restore.PhasePartiallyFailed, Counts: restore.Counts{Created: 2, Patched: 1, Failed: 1},
		Spec: restore.Spec{NamespaceMapping: map[string]string{"shop": "shop-copy"}},
		Items: []restore.ItemResult{
			{Resource: "configmaps", Namespace: "shop", TargetNamespace: "shop-copy", Name: "a", Action: restore.ActionCreate},
			{Resource: "configmaps", Namespace: "shop", TargetNamespace: "shop-copy", Name: "b", Action: restore.ActionPatch},
			{Resource: "secrets", Namespace: "shop", Name: "c", Action: restore.ActionFail, Reason: "forbidden"},
			{Resource: "namespaces", Name: "shop", Action: restore.ActionCreate},
		},
		Volumes: []restore.VolumeResult{{Outcome: restore.VolumeRestored}, {Outcome: restore.VolumeFailed}}}
	dry := &restore.Result{Items: []restore.ItemResult{
		{Resource: "configmaps", Namespace: "shop", TargetNamespace: "shop-copy", Name: "b", Action: restore.ActionPatch, Diff: strings.Repeat("x", maxItemDiff+10)},
	}}
	s := restoreSummary(real, dry)
	if s.Created != 2 || s.Patched != 1 || s.Failed != 1 || s.Volumes != 1 || s.Phase != restore.PhasePartiallyFailed {
		t.Errorf("summary = %+v", s)
	}
	var order []string
	for _, it := range s.Items {
		order = append(order, it.Action+":"+it.Namespace+"/"+it.Name)
	}
	if got, want := strings.Join(order, " "), "fail:shop/c patch:shop-copy/b create:shop-copy/a create:/shop-copy"; got != want {
		t.Errorf("items = %s, want %s", got, want)
	}
	if d := s.Items[1].Diff; !strings.HasSuffix(d, "(diff truncated)\n") || len(d) > maxItemDiff+30 {
		t.Errorf("diff of %d bytes not truncated", len(d))
	}
	many := &restore.Result{}
	for i := range agentv1.MaxRestoreItems + 10 {
		many.Items = append(many.Items, restore.ItemResult{Resource: "configmaps", Name: fmt.Sprint(i), Action: restore.ActionCreate})
	}
	if n := len(restoreSummary(many, nil).Items); n != agentv1.MaxRestoreItems {
		t.Errorf("%d items, want %d", n, agentv1.MaxRestoreItems)
	}
}

func hasLog(lines []agentv1.LogLine, part string) bool {
	for _, l := range lines {
		if strings.Contains(l.Message, part) {
			return true
		}
	}
	return false
}
