package install

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/internal/trustgrant"
)

const testToken = "cairn_agent_0123456789abcdef"

func validOptions() Options {
	return Options{VaultURL: "https://vault.example:8443", Token: []byte(testToken + "\n"), Image: "registry.example/cairn:v1"}
}

func TestDeployment(t *testing.T) {
	opts := validOptions()
	opts.Secrets = map[string][]byte{"prod-repo": []byte("pass")}
	opts.StorageEnv = map[string]string{"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
	objs, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	d := objs.Deployment
	if d.Namespace != trustgrant.DefaultNamespace || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("deployment %s/%s replicas %d strategy %s", d.Namespace, d.Name, *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != trustgrant.AgentName || pod.HostNetwork || len(pod.Containers) != 1 {
		t.Fatalf("pod spec: %+v", pod)
	}
	c := pod.Containers[0]
	wantCmd := []string{"/cairn", "agent", "run", "--vault", "https://vault.example:8443", "--token-file", "/etc/cairn/token/token", "--secrets-dir", "/etc/cairn/secrets",
		"--metrics-address", ":9464", "--concurrency", "1"}
	if !slices.Equal(c.Command, wantCmd) || len(c.Args) != 0 {
		t.Errorf("command %q args %q, want %q", c.Command, c.Args, wantCmd)
	}
	// The metrics port, named for a PodMonitor, is the one the command serves on.
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != 9464 || c.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("ports %+v, want metrics 9464/TCP", c.Ports)
	}
	if c.Image != opts.Image || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %s policy %s", c.Image, c.ImagePullPolicy)
	}
	// Nothing secret on the command line or in plain environment values.
	for _, s := range append(slices.Clone(c.Command), c.Args...) {
		for _, secret := range []string{testToken, "pass", "AKIA", "s3cr3t"} {
			if strings.Contains(s, secret) {
				t.Errorf("command line holds a secret: %q", s)
			}
		}
	}
	for _, e := range c.Env {
		if e.Value != "" && (strings.Contains(e.Value, testToken) || e.Value == "s3cr3t") {
			t.Errorf("environment %s holds a secret", e.Name)
		}
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != StorageSecret || !*c.EnvFrom[0].SecretRef.Optional {
		t.Errorf("storage credentials not taken from the optional Secret: %+v", c.EnvFrom)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for name, want := range map[string]struct{ secret, path string }{"token": {TokenSecret, TokenDir}, "secrets": {SecretsSecret, SecretsDir}} {
		m, v := mounts[name], volumes[name]
		if m.MountPath != want.path || !m.ReadOnly {
			t.Errorf("%s mounted at %q read-only %v", name, m.MountPath, m.ReadOnly)
		}
		if v.Secret == nil || v.Secret.SecretName != want.secret || *v.Secret.DefaultMode != 0o440 {
			t.Errorf("volume %s: %+v", name, v.VolumeSource)
		}
	}
	if v := volumes["secrets"]; v.Secret == nil || v.Secret.Optional == nil || !*v.Secret.Optional {
		t.Error("the passphrases Secret must be optional: one made later appears in the running pod")
	}
	if mounts["tmp"].MountPath != "/tmp" || volumes["tmp"].EmptyDir == nil {
		t.Error("no writable /tmp")
	}
	sc, psc := c.SecurityContext, pod.SecurityContext
	if *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context: %+v", sc)
	}
	if !*psc.RunAsNonRoot || *psc.RunAsUser != DefaultRunAsUser || *psc.FSGroup != DefaultRunAsUser || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context: %+v", psc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: %+v", c.Resources)
	}
	if got := objs.TokenSecret.StringData[TokenKey]; got != testToken {
		t.Errorf("token secret holds %q, want the trimmed token", got)
	}
	if string(objs.SecretsSecret.Data["prod-repo"]) != "pass" || objs.StorageSecret.StringData["AWS_SECRET_ACCESS_KEY"] != "s3cr3t" {
		t.Error("secrets not carried")
	}
}

func TestDeploymentOptionalParts(t *testing.T) {
	objs, err := Build(validOptions())
	if err != nil {
		t.Fatal(err)
	}
	if objs.SecretsSecret != nil || objs.StorageSecret != nil {
		t.Error("empty passphrases or credentials made a Secret")
	}
	if kinds := len(objs.All()); kinds != 6 {
		t.Errorf("%d objects, want 6 (namespace, service account, cluster role, binding, token secret, deployment)", kinds)
	}

	opts := validOptions()
	opts.HostNetwork = true
	opts.HostPaths = []string{"/srv/backups", "/tmp/backups"}
	opts.RunAsUser = ptr.To(int64(0))
	opts.APIServer = "127.0.0.1:6443"
	opts.PullPolicy = corev1.PullNever
	opts.Command = []string{"/cairn", "version"}
	opts.NoRBACEscalation = true
	opts.Namespace = "backups"
	objs, err = Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	pod := objs.Deployment.Spec.Template.Spec
	c := pod.Containers[0]
	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("host network %v dns %s", pod.HostNetwork, pod.DNSPolicy)
	}
	if pod.SecurityContext.RunAsNonRoot != nil || *pod.SecurityContext.RunAsUser != 0 {
		t.Errorf("root: %+v", pod.SecurityContext)
	}
	if !slices.Equal(c.Command, opts.Command) || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("command %q policy %s", c.Command, c.ImagePullPolicy)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["KUBERNETES_SERVICE_HOST"] != "127.0.0.1" || env["KUBERNETES_SERVICE_PORT"] != "6443" {
		t.Errorf("API server override: %v", env)
	}
	var hostMounts []string
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(m.Name, "host-") {
			hostMounts = append(hostMounts, m.MountPath)
		}
	}
	var hostVolumes []string
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			hostVolumes = append(hostVolumes, v.HostPath.Path)
			if *v.HostPath.Type != corev1.HostPathDirectory {
				t.Errorf("host path %s type %s", v.HostPath.Path, *v.HostPath.Type)
			}
		}
	}
	if !slices.Equal(hostMounts, opts.HostPaths) || !slices.Equal(hostVolumes, opts.HostPaths) {
		t.Errorf("host paths: mounts %v volumes %v", hostMounts, hostVolumes)
	}
	for _, r := range objs.Reasons["ClusterRole"] {
		if slices.Contains(r.Verbs, "escalate") {
			t.Error("NoRBACEscalation kept escalate")
		}
	}
	if objs.Deployment.Namespace != "backups" || objs.TokenSecret.Namespace != "backups" {
		t.Error("namespace not applied")
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{"no vault", func(o *Options) { o.VaultURL = "" }, "no vault URL"},
		{"vault not a URL", func(o *Options) { o.VaultURL = "vault.example" }, "http(s)://"},
		{"vault with credentials", func(o *Options) { o.VaultURL = "https://u:p@vault.example" }, "carries credentials"},
		{"no token", func(o *Options) { o.Token = []byte(" \n") }, "no agent token"},
		{"no image", func(o *Options) { o.Image = "" }, "--image"},
		{"bad pull policy", func(o *Options) { o.PullPolicy = "Sometimes" }, "Always, IfNotPresent or Never"},
		{"too many jobs at once", func(o *Options) { o.Concurrency = 17 }, "run between 1 and 16 jobs at once"},
		{"negative concurrency", func(o *Options) { o.Concurrency = -1 }, "run between 1 and 16 jobs at once"},
		{"bad namespace", func(o *Options) { o.Namespace = "Backups" }, "not a valid name"},
		{"bad secret name", func(o *Options) { o.Secrets = map[string][]byte{"a/b": nil} }, `secret name "a/b"`},
		{"bad env name", func(o *Options) { o.StorageEnv = map[string]string{"1AWS": "x"} }, "not an environment variable name"},
		{"relative host path", func(o *Options) { o.HostPaths = []string{"data"} }, "absolute"},
		{"root host path", func(o *Options) { o.HostPaths = []string{"/"} }, "absolute"},
		{"unclean host path", func(o *Options) { o.HostPaths = []string{"/srv/../etc"} }, "clean"},
		{"host path twice", func(o *Options) { o.HostPaths = []string{"/srv", "/srv"} }, "twice"},
		{"host path over the token", func(o *Options) { o.HostPaths = []string{"/etc"} }, "hide the agent's own files"},
		{"host path over tmp", func(o *Options) { o.HostPaths = []string{"/tmp"} }, "hide the agent's own files"},
		{"negative uid", func(o *Options) { o.RunAsUser = ptr.To(int64(-1)) }, "uid"},
		{"api server without port", func(o *Options) { o.APIServer = "127.0.0.1" }, "HOST:PORT"},
		{"api server bad port", func(o *Options) { o.APIServer = "127.0.0.1:http" }, "HOST:PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := validOptions()
			tc.modify(&opts)
			_, err := Build(opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestManifestsRedact(t *testing.T) {
	opts := validOptions()
	opts.Secrets = map[string][]byte{"prod-repo": []byte("correct-horse")}
	opts.StorageEnv = map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "AccountKey=abc"}
	out, err := Manifests(opts, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{testToken, "correct-horse", "AccountKey=abc"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted manifests hold %q", secret)
		}
	}
	for _, want := range []string{"kind: CustomResourceDefinition", "name: backuphooks.", "kind: Deployment", "prod-repo: " + Redacted,
		"AZURE_STORAGE_CONNECTION_STRING: " + Redacted, "token: " + Redacted} {
		if !strings.Contains(out, want) {
			t.Errorf("manifests lack %q", want)
		}
	}
	plain, err := Manifests(opts, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain, testToken) {
		t.Error("unredacted manifests lack the token")
	}
}

func TestConfigHashFollowsTheSecrets(t *testing.T) {
	hash := func(modify func(*Options)) string {
		opts := validOptions()
		modify(&opts)
		objs, err := Build(opts)
		if err != nil {
			t.Fatal(err)
		}
		return configHash(objs)
	}
	base := hash(func(*Options) {})
	if base != hash(func(*Options) {}) {
		t.Error("hash is not stable")
	}
	for name, m := range map[string]func(*Options){
		"token":      func(o *Options) { o.Token = []byte("other") },
		"passphrase": func(o *Options) { o.Secrets = map[string][]byte{"a": []byte("b")} },
		"storage":    func(o *Options) { o.StorageEnv = map[string]string{"A": "b"} },
	} {
		if hash(m) == base {
			t.Errorf("a new %s leaves the hash unchanged: the agent would not restart", name)
		}
	}
}
