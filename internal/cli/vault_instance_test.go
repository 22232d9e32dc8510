package cli

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

func TestInstanceCreateListShowStopResumeDelete(t *testing.T) {
	v := startTestVault(t)
	v.register(t, "prod")
	v.register(t, "staging")
	at := time.Now().UTC().Add(12 * time.Hour).Format("15:04")
	v.ok(t, "policy", "create", "nightly", "--daily-at", at, "--retain", "7d")

	out := v.ok(t, "instance", "create", "shop", "--cluster", "prod", "--policy", "nightly",
		"--storage", "s3://backups/prod?region=eu-west-1", "--passphrase-secret", "prod-repo",
		"--include-namespaces", "shop,team-*", "--exclude-namespaces", "team-tmp", "--include-resources", "deployments,configmaps",
		"--exclude-resources", "events", "-l", "app=web", "-l", "tier=db", "--include-cluster-resources", "false",
		"--snapshot-class", "csi-snap", "--backup-hook", "shop/db-freeze")
	if !strings.Contains(out, `created instance "shop": cluster prod, policy nightly, next backup `) {
		t.Errorf("create:\n%s", out)
	}
	var in vaultv1.Instance
	v.jsonOut(t, &in, "instance", "show", "shop")
	want := vaultv1.BackupConfig{IncludeNamespaces: []string{"shop", "team-*"}, ExcludeNamespaces: []string{"team-tmp"},
		IncludeResources: []string{"deployments", "configmaps"}, ExcludeResources: []string{"events"},
		LabelSelectors: []string{"app=web", "tier=db"}, ClusterResources: "false", SnapshotVolumes: true, SnapshotClass: "csi-snap",
		BackupHooks: []string{"shop/db-freeze"}}
	if !reflect.DeepEqual(in.Backup, want) || in.Storage != (vaultv1.StorageLocation{URL: "s3://backups/prod?region=eu-west-1", PassphraseSecret: "prod-repo"}) ||
		in.State != vaultv1.InstanceProtected || in.NextBackup == nil {
		t.Errorf("show -o json:\n%+v\nwant backup %+v", in, want)
	}
	v.ok(t, "policy", "create", "hourly", "--every-hours", "12", "--retain", "2d")
	v.ok(t, "instance", "create", "stage", "--cluster", "staging", "--policy", "hourly", "--storage", "file:///b", "--passphrase-secret", "s",
		"--snapshot-volumes=false")
	v.fails(t, "409", "instance", "create", "shop2", "--cluster", "prod", "--policy", "nightly", "--storage", "file:///b", "--passphrase-secret", "s")
	v.fails(t, "422", "instance", "create", "shop3", "--cluster", "nope", "--policy", "nightly", "--storage", "file:///b", "--passphrase-secret", "s")

	out = v.ok(t, "instance", "list")
	if !regexpLine(out, `NAME\s+CLUSTER\s+POLICY\s+STATE\s+RPO\s+NEXT BACKUP`) || !regexpLine(out, `shop\s+prod\s+nightly\s+protected\s+pending\s+\S+\s+shop,team-\*\s+s3://`) ||
		!regexpLine(out, `stage\s+staging\s+hourly\s+protected`) {
		t.Errorf("list:\n%s", out)
	}
	var list []vaultv1.Instance
	v.jsonOut(t, &list, "instance", "list", "--cluster", "staging")
	if len(list) != 1 || list[0].Name != "stage" || list[0].Backup.SnapshotVolumes {
		t.Errorf("list --cluster staging: %+v", list)
	}
	v.jsonOut(t, &list, "instance", "list", "--policy", "nightly")
	if len(list) != 1 || list[0].Name != "shop" {
		t.Errorf("list --policy nightly: %+v", list)
	}

	out = v.ok(t, "instance", "show", "shop")
	for _, w := range []string{`instance "shop"`, "cluster:         prod", "shop,team-*, except team-tmp", "deployments,configmaps, except events",
		"app=web | tier=db", "cluster-scoped:  false", "snapshotted with class csi-snap", "backup hooks:    shop/db-freeze",
		"next backup:     " + in.NextBackup.Format(time.RFC3339), "rpo:             25h, pending; last good backup -", "no recovery point yet"} {
		if !strings.Contains(out, w) {
			t.Errorf("show lacks %q:\n%s", w, out)
		}
	}
	var detail map[string]any
	if err := yaml.Unmarshal([]byte(v.ok(t, "instance", "show", "shop", "-o", "yaml")), &detail); err != nil ||
		detail["name"] != "shop" || detail["recoveryPoints"] == nil {
		t.Errorf("show -o yaml: %v %v", err, detail)
	}

	v.fails(t, "409", "instance", "delete", "shop") // protected
	v.fails(t, "--yes", "instance", "stop", "shop", "--delete-data")
	out = v.ok(t, "instance", "stop", "shop")
	if !strings.Contains(out, `stopped instance "shop" (stopped)`) {
		t.Errorf("stop:\n%s", out)
	}
	v.fails(t, "409", "instance", "backup-now", "shop")
	v.jsonOut(t, &in, "instance", "resume", "shop")
	if in.State != vaultv1.InstanceProtected || in.NextBackup == nil {
		t.Errorf("resume: %+v", in)
	}
	v.ok(t, "instance", "stop", "stage")
	v.jsonOut(t, &in, "instance", "stop", "stage", "--delete-data", "--yes")
	if in.State != vaultv1.InstanceStoppedDeleting {
		t.Errorf("stop --delete-data: %+v", in)
	}
	out = v.ok(t, "instance", "delete", "stage")
	if !strings.Contains(out, `deleted instance "stage"`) {
		t.Errorf("delete:\n%s", out)
	}
	v.fails(t, "404", "instance", "show", "stage")
}

func TestInstanceFlagErrors(t *testing.T) {
	v := &testVault{home: t.TempDir()} // not logged in: the flags are checked first
	base := []string{"instance", "create", "shop", "--cluster", "prod", "--policy", "nightly", "--storage", "file:///b", "--passphrase-secret", "s"}
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(base); i++ {
			if base[i] == flag {
				i++
				continue
			}
			out = append(out, base[i])
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{without("--cluster"), "--cluster is required"},
		{without("--policy"), "--policy is required"},
		{without("--storage"), "--storage is required"},
		{without("--passphrase-secret"), "--passphrase-secret is required"},
		{append(without("--storage"), "--storage", "/var/backups"), `--storage: scheme ""`},
		{append(without("--storage"), "--storage", "s3://key:secret@bucket/x"), "--storage: the URL holds credentials"},
		{append(without("--passphrase-secret"), "--passphrase-secret", "a/b"), `--passphrase-secret "a/b"`},
		{append(base, "--include-cluster-resources", "maybe"), "maybe"},
		{append(base, "--backup-hook", "nonamespace"), "--backup-hook"},
		{append(base, "-o", "xml"), `unknown output format "xml"`},
		{[]string{"instance", "backup-now", "shop", "--retain", "3x"}, `--retain: duration "3x"`},
		{[]string{"instance", "backup-now", "shop", "--retain", "0"}, `--retain "0": use a positive duration`},
		{[]string{"instance", "stop", "shop", "--delete-data"}, "add --yes to confirm"},
		{[]string{"instance", "show", "shop", "--recovery-points", "-1"}, "--recovery-points -1"},
		{[]string{"instance", "list"}, "not logged in"},
	} {
		v.fails(t, tc.want, tc.args...)
	}
}

func TestRPOCell(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	since := now.Add(-3*time.Hour - 20*time.Minute)
	for _, c := range []struct {
		st   *vaultv1.RPOStatus
		want string
	}{
		{nil, "-"},
		{&vaultv1.RPOStatus{State: "met"}, "met"},
		{&vaultv1.RPOStatus{State: "breached", BreachedSince: &since}, "BREACHED 3h20m"},
		{&vaultv1.RPOStatus{State: "paused"}, "paused"},
	} {
		if got := rpoCell(c.st, now); got != c.want {
			t.Errorf("rpoCell(%+v) = %q, want %q", c.st, got, c.want)
		}
	}
}
