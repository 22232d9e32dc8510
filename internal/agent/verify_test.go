package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// TestVerifyLevels: a verify job reads at its level (none or one the agent does not know: data)
// and reports what it checked; a pack cut short fails either level, naming it.
func TestVerifyLevels(t *testing.T) {
	url := testRepository(t, "shop-1")
	storage := agentv1.StorageLocation{URL: url, PassphraseSecret: "repo"}
	verify := func(id int64, level string) *agentv1.Job {
		return &agentv1.Job{ID: id, Kind: agentv1.KindVerify, Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{RecoveryPoint: "shop-1", Storage: storage, Level: level}}}
	}
	v := newFakeVault(t)
	v.enqueue(verify(1, agentv1.VerifyStructure), verify(2, ""), verify(3, "sample"))
	env := map[string]string{"CAIRN_SECRET_REPO": testPassphrase}
	a, _ := testAgent(t, v, func(o *Options) { o.Getenv = func(k string) string { return env[k] } }, nil)
	start(t, a)
	waitFor(t, "three completions", func() bool { return len(v.completion(3)) > 0 })

	for id, want := range map[int64]agentv1.VerifyResult{
		1: {Level: agentv1.VerifyStructure, Files: 2, Sections: 1},
		2: {Level: agentv1.VerifyData, Files: 2, Sections: 1, Items: 2},
		3: {Level: agentv1.VerifyData, Files: 2, Sections: 1, Items: 2},
	} {
		c := v.completion(id)[0]
		if c.State != agentv1.JobSucceeded || c.Result == nil || c.Result.Verify == nil || *c.Result.Verify != want {
			t.Errorf("job %d: %+v (result %+v), want %+v", id, c, c.Result, want)
		}
	}
	if !hasLog(v.logs(1), "recovery point intact recoveryPoint=shop-1 files=2 sections=1 items=0 level=structure") {
		t.Errorf("structure log: %+v", v.logs(1))
	}
	if !hasLog(v.logs(3), `unknown verification level: verifying the data level=sample`) {
		t.Errorf("unknown level log: %+v", v.logs(3))
	}

	// A pack cut short.
	dir := strings.TrimPrefix(url, "file://")
	packs, err := filepath.Glob(filepath.Join(dir, "backups", "shop-1", "packs", "*"))
	if err != nil || len(packs) != 1 {
		t.Fatalf("packs %v %v", packs, err)
	}
	data, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(packs[0], data[:len(data)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	v.enqueue(verify(4, agentv1.VerifyStructure))
	waitFor(t, "the fourth completion", func() bool { return len(v.completion(4)) > 0 })
	c := v.completion(4)[0]
	if c.State != agentv1.JobFailed || c.Result == nil || c.Result.Verify == nil || c.Result.Verify.Problems != 1 || len(c.Result.Errors) != 1 ||
		!strings.Contains(c.Error, `recovery point "shop-1" is damaged: 1 problem(s): backups/shop-1/packs/`) ||
		!strings.Contains(c.Result.Errors[0], "the manifest says") {
		t.Errorf("damaged: %+v (result %+v)", c, c.Result)
	}
}
