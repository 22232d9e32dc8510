package install

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// The manifests in deploy/ are written down three times: this package, deploy/agent (plain YAML)
// and deploy/helm/cairn-agent (a chart). These tests keep them equal.

var update = flag.Bool("update", false, "rewrite deploy/agent/cairn-agent.yaml from this package")

const deployDir = "../../../deploy"

const plainHeader = `# cairn's agent as plain manifests: the objects ` + "`cairn agent install`" + ` applies, the CRDs aside
# (deploy/crds). Generated: go test ./internal/agent/install -run TestPlainManifests -update.
#
# Placeholders, for envsubst:
#   CAIRN_VAULT_URL    the vault's URL, e.g. https://vault.example:8443
#   CAIRN_AGENT_IMAGE  the agent image: the static cairn binary at /cairn (make agent-image)
#   CAIRN_AGENT_TOKEN  the agent token cairn cluster register printed
#
#   export CAIRN_VAULT_URL=https://vault.example:8443 CAIRN_AGENT_IMAGE=registry.example/cairn:v0.3.0
#   export CAIRN_AGENT_TOKEN="$(cat agent.token)"
#   kubectl apply -f deploy/crds
#   envsubst '$CAIRN_VAULT_URL $CAIRN_AGENT_IMAGE $CAIRN_AGENT_TOKEN' < deploy/agent/cairn-agent.yaml | kubectl apply -f -
#
# Repository passphrases and storage credentials are optional Secrets the Deployment reads:
#   kubectl -n cairn-system create secret generic cairn-agent-secrets --from-file=prod-repo=./prod-repo.passphrase
#   kubectl -n cairn-system create secret generic cairn-storage-credentials --from-env-file=./azure.env
# (restart the agent after changing cairn-storage-credentials: kubectl -n cairn-system rollout restart deploy/cairn-agent)
#
# The agent runs one job at a time; edit the value after --concurrency below (1 to 16) to run more.
`

// plainFiles are the plain manifests by grant.
var plainFiles = map[string]string{trustgrant.GrantFull: "cairn-agent.yaml", trustgrant.GrantBackupOnly: "cairn-agent-backup-only.yaml"}

func plainManifests(grant string) (string, error) {
	opts, err := Options{VaultURL: "https://placeholder", Token: []byte("placeholder"), Image: "placeholder", Grant: grant}.withDefaults()
	if err != nil {
		return "", err
	}
	opts.VaultURL, opts.Image, opts.Token = "${CAIRN_VAULT_URL}", "${CAIRN_AGENT_IMAGE}", []byte("${CAIRN_AGENT_TOKEN}")
	objs, err := build(opts)
	if err != nil {
		return "", err
	}
	body, err := trustgrant.Render(objs.All(), objs.Reasons)
	header := strings.ReplaceAll(plainHeader, "cairn-agent.yaml", plainFiles[grant])
	if grant == trustgrant.GrantBackupOnly {
		header += "#\n# The backup-only grant: restores need the restore grant added (cairn-agent-restore.yaml, or cairn agent grant-restore).\n"
	}
	return header + body, err
}

const restoreHeader = `# The restore grant of cairn's agent (docs/design/vault.md, "Trust grant"): what an agent installed
# with the backup-only grant (cairn-agent-backup-only.yaml) needs for restores, in namespace
# cairn-system. Apply it for as long as restores are to run, with an administrator's kubeconfig.
# Generated: go test ./internal/agent/install -run TestPlainRestoreGrant -update.
#
#   kubectl apply -f deploy/agent/cairn-agent-restore.yaml    # or: cairn agent grant-restore
#   kubectl delete -f deploy/agent/cairn-agent-restore.yaml   # or: cairn agent revoke-restore
`

// TestPlainRestoreGrant: deploy/agent/cairn-agent-restore.yaml is what cairn agent grant-restore
// applies.
func TestPlainRestoreGrant(t *testing.T) {
	body, err := RestoreGrantYAML("", true)
	if err != nil {
		t.Fatal(err)
	}
	want := restoreHeader + body
	path := filepath.Join(deployDir, "agent", "cairn-agent-restore.yaml")
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: run go test ./internal/agent/install -run TestPlainRestoreGrant -update", path)
	}
	objs, _, err := trustgrant.Restore("", true)
	if err != nil {
		t.Fatal(err)
	}
	compareObjects(t, objs, decodeDocs(t, string(got)), false)
}

func TestPlainManifests(t *testing.T) {
	for _, grant := range trustgrant.Grants {
		t.Run(grant, func(t *testing.T) { testPlainManifests(t, grant) })
	}
}

func testPlainManifests(t *testing.T, grant string) {
	want, err := plainManifests(grant)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(deployDir, "agent", plainFiles[grant])
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: run go test ./internal/agent/install -run TestPlainManifests -update", path)
	}
	// It decodes, and envsubst's output is what the install would apply.
	filled := strings.NewReplacer("${CAIRN_VAULT_URL}", "https://vault.example:8443", "${CAIRN_AGENT_IMAGE}", "registry.example/cairn:v1",
		"${CAIRN_AGENT_TOKEN}", testToken).Replace(string(got))
	opts := validOptions()
	opts.Grant = grant
	objs, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	compareObjects(t, objs.All(), decodeDocs(t, filled), false)
}

func TestChartCRDsAreDeployCRDs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployDir, "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in deploy/crds: %v", err)
	}
	copies, _ := filepath.Glob(filepath.Join(deployDir, "helm", "cairn-agent", "crds", "*.yaml"))
	if len(copies) != len(files) {
		t.Errorf("chart has %d CRDs, deploy/crds %d: make generate copies them", len(copies), len(files))
	}
	for _, f := range files {
		a, _ := os.ReadFile(f)
		b, err := os.ReadFile(filepath.Join(deployDir, "helm", "cairn-agent", "crds", filepath.Base(f)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("chart's copy of %s differs or is missing (make generate copies it): %v", filepath.Base(f), err)
		}
	}
}

// TestChart renders the chart for several values and compares its objects with the install's.
func TestChart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		opts   func(*Options)
	}{
		{"defaults", nil, func(*Options) {}},
		{"one-node cluster", map[string]any{
			"secrets":     map[string]any{"prod-repo": "correct horse", "dev.repo": "x\"y"},
			"storageEnv":  map[string]any{"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountKey=a/b=="},
			"hostNetwork": true,
			"hostPaths":   []any{"/srv/backups", "/mnt/more"},
			"runAsUser":   0,
			"apiServer":   map[string]any{"host": "127.0.0.1", "port": "6443"},
			"rbac":        map[string]any{"escalation": false},
			"image":       map[string]any{"pullPolicy": "Never"},
		}, func(o *Options) {
			o.Secrets = map[string][]byte{"prod-repo": []byte("correct horse"), "dev.repo": []byte("x\"y")}
			o.StorageEnv = map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountKey=a/b=="}
			o.HostNetwork, o.HostPaths, o.RunAsUser = true, []string{"/srv/backups", "/mnt/more"}, ptr.To(int64(0))
			o.APIServer, o.NoRBACEscalation, o.PullPolicy = "127.0.0.1:6443", true, corev1.PullNever
		}},
		{"other namespace", map[string]any{"runAsUser": 1000, "concurrency": 4}, func(o *Options) {
			o.Namespace, o.RunAsUser, o.Concurrency = "backups", ptr.To(int64(1000)), 4
		}},
		{"backup-only", map[string]any{"grant": "backup-only"}, func(o *Options) { o.Grant = trustgrant.GrantBackupOnly }},
		{"backup-only in another namespace", map[string]any{"grant": "backup-only", "rbac": map[string]any{"escalation": false}},
			func(o *Options) {
				o.Grant, o.Namespace, o.NoRBACEscalation = trustgrant.GrantBackupOnly, "backups", true
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := validOptions()
			opts.Namespace = "cairn-system"
			tc.opts(&opts)
			values := merge(map[string]any{
				"vault": map[string]any{"url": "https://vault.example:8443"},
				"token": testToken + "\n",
				"image": map[string]any{"repository": "registry.example/cairn", "tag": "v1"},
			}, tc.values)
			docs, err := renderChart(t, opts.Namespace, values)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := Build(opts)
			if err != nil {
				t.Fatal(err)
			}
			compareObjects(t, objs.All(), decodeDocs(t, docs), true)
		})
	}
}

func TestChartRequiredValues(t *testing.T) {
	for _, missing := range []string{"token", "vault.url", "image.repository", "image.tag"} {
		values := map[string]any{
			"vault": map[string]any{"url": "https://v"}, "token": "t",
			"image": map[string]any{"repository": "r", "tag": "v1"},
		}
		key, sub, nested := strings.Cut(missing, ".")
		if nested {
			values[key].(map[string]any)[sub] = ""
		} else {
			values[key] = ""
		}
		if _, err := renderChart(t, "cairn-system", values); err == nil || !strings.Contains(err.Error(), missing+" is required") {
			t.Errorf("without %s: want an error saying it is required, got %v", missing, err)
		}
	}
}

// TestChartRefusesABadConcurrency: a concurrency outside 1 to 16 fails the render, as the
// install refuses it.
func TestChartRefusesABadConcurrency(t *testing.T) {
	for _, bad := range []any{0, 17, "many"} {
		values := map[string]any{
			"vault": map[string]any{"url": "https://vault.example:8443"}, "token": testToken,
			"image": map[string]any{"repository": "r", "tag": "t"}, "concurrency": bad,
		}
		if _, err := renderChart(t, "cairn-system", values); err == nil || !strings.Contains(err.Error(), "run between 1 and 16 jobs at once") {
			t.Errorf("concurrency %v: %v", bad, err)
		}
	}
}

// TestChartRefusesAnUnknownGrant: a grant the chart does not know fails the render, naming the
// grants there are.
func TestChartRefusesAnUnknownGrant(t *testing.T) {
	values := map[string]any{
		"vault": map[string]any{"url": "https://v"}, "token": "t",
		"image": map[string]any{"repository": "r", "tag": "v1"}, "grant": "read-only",
	}
	_, err := renderChart(t, "cairn-system", values)
	if err == nil || !strings.Contains(err.Error(), `grant "read-only": use `+trustgrant.GrantChoices()) {
		t.Errorf("want an error naming the grants, got %v", err)
	}
}

// TestChartRuleReasons: the chart gives each rule of each grant the reason trustgrant does, as a
// comment before it.
func TestChartRuleReasons(t *testing.T) {
	for _, grant := range trustgrant.Grants {
		values := map[string]any{
			"vault": map[string]any{"url": "https://v"}, "token": "t",
			"image": map[string]any{"repository": "r", "tag": "v1"}, "grant": grant,
		}
		docs, err := renderChart(t, "cairn-system", values)
		if err != nil {
			t.Fatal(err)
		}
		g, err := trustgrant.NewOf(grant, "", true)
		if err != nil {
			t.Fatal(err)
		}
		for kind, rules := range g.Reasons() {
			var doc string
			for _, d := range strings.Split(docs, "\n---") {
				if strings.Contains(d, "\nkind: "+kind+"\n") {
					doc = d
				}
			}
			_, after, _ := strings.Cut(doc, "\nrules:\n")
			got := commentBlocks(after)
			var want []string
			for _, r := range rules {
				want = append(want, r.Reason)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: the chart's %s gives the reasons\n%q\nwant\n%q", grant, kind, got, want)
			}
		}
	}
}

// commentBlocks returns each run of "# " lines joined into one line.
func commentBlocks(doc string) []string {
	var out, cur []string
	for _, l := range strings.Split(doc+"\n", "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "# "); ok {
			cur = append(cur, c)
			continue
		}
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	return out
}

// compareObjects checks that got holds the same objects as want, Helm's conventions aside: the
// chart leaves the namespace to `helm install --create-namespace`, and labels objects
// managed-by Helm. Pod template annotations (the config hash) are not compared.
func compareObjects(t *testing.T, want []runtime.Object, got []runtime.Object, chart bool) {
	t.Helper()
	index := map[string]runtime.Object{}
	for _, o := range got {
		index[objectKey(t, o)] = o
	}
	for _, w := range want {
		key := objectKey(t, w)
		if chart && strings.HasPrefix(key, "Namespace ") {
			continue
		}
		g, ok := index[key]
		if !ok {
			t.Errorf("%s is missing", key)
			continue
		}
		delete(index, key)
		a, b := normalized(t, w), normalized(t, g)
		if a != b {
			t.Errorf("%s differs:\n--- install\n%s\n--- manifest\n%s", key, a, b)
		}
	}
	for key := range index {
		t.Errorf("%s is not an object the install makes", key)
	}
}

func objectKey(t *testing.T, o runtime.Object) string {
	us, err := trustgrant.ToUnstructured([]runtime.Object{o})
	if err != nil {
		t.Fatal(err)
	}
	return us[0].GetKind() + " " + us[0].GetNamespace() + "/" + us[0].GetName()
}

// normalized renders an object without what may differ: the managed-by label, the pod
// template's annotations, and Secret values' form (stringData or data).
func normalized(t *testing.T, o runtime.Object) string {
	o = o.DeepCopyObject()
	if s, ok := o.(*corev1.Secret); ok {
		o = withData(s)
	}
	us, err := trustgrant.ToUnstructured([]runtime.Object{o})
	if err != nil {
		t.Fatal(err)
	}
	u := us[0]
	labels := u.GetLabels()
	delete(labels, trustgrant.LabelManaged)
	u.SetLabels(labels)
	spec, _ := u.Object["spec"].(map[string]any)
	if tmpl, ok := spec["template"].(map[string]any); ok {
		md := tmpl["metadata"].(map[string]any)
		delete(md, "annotations")
		if l, ok := md["labels"].(map[string]any); ok {
			delete(l, trustgrant.LabelManaged)
		}
	}
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func decodeDocs(t *testing.T, manifest string) []runtime.Object {
	t.Helper()
	var out []runtime.Object
	for _, doc := range strings.Split(manifest, "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("decode: %v\n%s", err, doc)
		}
		out = append(out, obj)
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// renderChart renders deploy/helm/cairn-agent as `helm template -n ns` would, with values over
// values.yaml: Go's text/template with the Helm functions the templates use.
func renderChart(t *testing.T, ns string, values map[string]any) (string, error) {
	t.Helper()
	dir := filepath.Join(deployDir, "helm", "cairn-agent")
	var defaults map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &defaults); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	var chart map[string]any
	if data, err = os.ReadFile(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	top := map[string]any{
		"Values":  merge(defaults, values),
		"Release": map[string]any{"Name": "cairn-agent", "Namespace": ns, "Service": "Helm"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
	}
	files, err := filepath.Glob(filepath.Join(dir, "templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := template.New(filepath.Base(f)).Option("missingkey=zero").Funcs(helmFuncs).Parse(string(src))
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		var out bytes.Buffer
		if err := tmpl.Execute(&out, top); err != nil {
			return "", err
		}
		if strings.HasSuffix(f, ".yaml") {
			docs = append(docs, out.String())
		}
	}
	return strings.Join(docs, "\n---\n"), nil
}

// helmFuncs are the Helm (sprig) functions the chart uses, with Helm's semantics.
var helmFuncs = template.FuncMap{
	"fail": func(msg string) (string, error) { return "", errors.New(msg) },
	"required": func(msg string, v any) (any, error) {
		if v == nil || v == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	},
	"quote": func(vs ...any) string {
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			if v != nil {
				out = append(out, fmt.Sprintf("%q", fmt.Sprint(v)))
			}
		}
		return strings.Join(out, " ")
	},
	"trim": func(s string) string { return strings.TrimSpace(s) },
	// int is sprig's (cast.ToInt): numbers truncated, numeric strings parsed, anything else 0.
	"int": func(v any) int {
		switch x := v.(type) {
		case int:
			return x
		case int64:
			return int(x)
		case float64:
			return int(x)
		case string:
			n, _ := strconv.Atoi(x)
			return n
		}
		return 0
	},
	"toYaml": func(v any) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	},
	"nindent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
	"sha256sum": func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	},
	"trunc": func(n int, s string) string {
		if n >= 0 && len(s) > n {
			return s[:n]
		}
		return s
	},
}

// merge returns base with over laid on it, maps merged recursively (Helm's values coalescing).
func merge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = merge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}
