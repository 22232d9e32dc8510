package install

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/secretref"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// Names of the objects an install creates besides the trust grant's (trustgrant.AgentName names
// the Deployment).
const (
	// TokenSecret holds the agent token under TokenKey.
	TokenSecret = "cairn-agent-token"
	TokenKey    = "token"
	// SecretsSecret holds repository passphrases, one key per secret name; it is mounted at
	// SecretsDir and may be absent.
	SecretsSecret = "cairn-agent-secrets"
	// StorageSecret holds storage credentials as environment variables (envFrom); it may be absent.
	StorageSecret = "cairn-storage-credentials"
	// ContainerName is the agent's container in its Pod.
	ContainerName = "agent"
)

// The agent's Prometheus metrics: its container port, named MetricsPortName (what a PodMonitor
// selects), on which `cairn agent run --metrics-address` serves GET /metrics. Nothing else in the
// agent's pod listens: it has the agent's container only (data movers run in pods of their own).
const (
	MetricsPort     int32 = 9464
	MetricsPortName       = "metrics"
)

// Paths inside the agent's container.
const (
	TokenDir   = "/etc/cairn/token"
	TokenFile  = TokenDir + "/" + TokenKey
	SecretsDir = "/etc/cairn/secrets"
	BinaryPath = "/cairn"
)

// Defaults of Options.
const (
	// DefaultRunAsUser is the agent's user: non-root, the "nonroot" uid of distroless images, and
	// the user the agent image's /etc/passwd names.
	DefaultRunAsUser int64 = 65532
	DefaultTimeout         = 2 * time.Minute
)

// Resources of the agent's container: the engines stream objects and blobs, so memory stays
// modest; the limit guards the node against a runaway. No CPU limit: throttling would only slow a
// backup down, and the request already places the pod fairly.
var (
	requestCPU    = resource.MustParse("100m")
	requestMemory = resource.MustParse("256Mi")
	limitMemory   = resource.MustParse("2Gi")
)

// Options describe an agent install.
type Options struct {
	// Namespace is where the agent runs (default cairn-system).
	Namespace string
	// VaultURL is the vault the agent connects out to (http or https).
	VaultURL string
	// Token is the agent token of the cluster's trust grant (from `cairn cluster register`).
	Token []byte
	// Image is the agent image: the static cairn binary at /cairn.
	Image string
	// PullPolicy is the image pull policy (default IfNotPresent; Never for images imported into
	// the node by hand, as on cairn's local cluster).
	PullPolicy corev1.PullPolicy
	// Secrets are repository passphrases by secret name (the Secret cairn-agent-secrets, mounted
	// at /etc/cairn/secrets). Without any, the Secret is not created; the mount is optional, so
	// one made later appears in the running pod.
	Secrets map[string][]byte
	// StorageEnv are storage credentials as environment variables (AWS_ACCESS_KEY_ID,
	// AZURE_STORAGE_CONNECTION_STRING, ...) (the Secret cairn-storage-credentials, envFrom).
	StorageEnv map[string]string
	// HostNetwork runs the agent in the node's network namespace: on a one-node cluster it then
	// reaches a vault listening on the host's 127.0.0.1.
	HostNetwork bool
	// HostPaths are host directories mounted at the same path in the agent, for file:// storage
	// on a one-node cluster.
	HostPaths []string
	// RunAsUser is the agent's uid (default 65532; the pod runs as non-root unless it is 0).
	// file:// storage in a root-owned host directory needs 0, or a directory the uid may write.
	RunAsUser *int64
	// APIServer is HOST:PORT of the Kubernetes API for the agent's in-cluster configuration,
	// instead of the kubernetes Service. Only for clusters without a Service proxy, such as
	// cairn's local cluster (with HostNetwork: the API server's loopback address).
	APIServer string
	// Grant is the trust grant the agent holds: trustgrant.GrantFull ("", the default) or
	// trustgrant.GrantBackupOnly.
	Grant string
	// Concurrency is how many jobs the agent runs at once (default 1; agent.ValidConcurrency).
	Concurrency int
	// NoRBACEscalation leaves escalate and bind out of the ClusterRole: restoring a Role or
	// ClusterRole that grants more than the agent holds, or a binding to one, then fails.
	NoRBACEscalation bool
	// Command replaces the container's command (default: /cairn agent run with the vault, token
	// file and secrets directory). For tests and debugging.
	Command []string
	// Timeout bounds the wait for the Deployment to become available (default 2m).
	Timeout time.Duration
	// Out receives one line per object applied (default: discarded).
	Out io.Writer
}

// envName is a valid environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the options as Install does, without a cluster.
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}

// withDefaults checks the options and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		o.Namespace = trustgrant.DefaultNamespace
	}
	if err := trustgrant.ValidNamespace(o.Namespace); err != nil {
		return o, err
	}
	if err := trustgrant.ValidGrant(o.Grant); err != nil {
		return o, err
	}
	if err := validVaultURL(o.VaultURL); err != nil {
		return o, err
	}
	if len(strings.TrimSpace(string(o.Token))) == 0 {
		return o, errors.New("no agent token: give the token `cairn cluster register` printed (cairn agent install --token-file FILE)")
	}
	if o.Image == "" {
		return o, errors.New("no agent image: give --image (build one with `make agent-image`, see deploy/README.md)")
	}
	switch o.PullPolicy {
	case "":
		o.PullPolicy = corev1.PullIfNotPresent
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return o, fmt.Errorf("image pull policy %q: use Always, IfNotPresent or Never", o.PullPolicy)
	}
	for name := range o.Secrets {
		if err := secretref.Validate(name); err != nil {
			return o, fmt.Errorf("secret name %w (it is the name a storage location's passphraseSecret gives)", err)
		}
	}
	for k := range o.StorageEnv {
		if !envName.MatchString(k) {
			return o, fmt.Errorf("storage credential %q is not an environment variable name: use letters, digits and '_', not starting with a digit", k)
		}
	}
	seen := map[string]bool{}
	for _, p := range o.HostPaths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return o, fmt.Errorf("host path %q: give an absolute, clean directory other than /", p)
		}
		if seen[p] {
			return o, fmt.Errorf("host path %q is given twice", p)
		}
		seen[p] = true
		// A directory below /tmp is mounted on top of the agent's emptyDir /tmp and hides nothing.
		if under(p, "/etc/cairn") || under("/etc/cairn", p) || under("/tmp", p) || p == BinaryPath {
			return o, fmt.Errorf("host path %q would hide the agent's own files (/cairn, /etc/cairn, /tmp): choose another directory", p)
		}
	}
	if o.RunAsUser == nil {
		o.RunAsUser = ptr.To(DefaultRunAsUser)
	} else if *o.RunAsUser < 0 {
		return o, fmt.Errorf("run-as user %d: give a uid of 0 or more", *o.RunAsUser)
	}
	if o.APIServer != "" {
		host, port, err := net.SplitHostPort(o.APIServer)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return o, fmt.Errorf("API server %q: give HOST:PORT, e.g. 127.0.0.1:6443", o.APIServer)
		}
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if err := agent.ValidConcurrency(o.Concurrency); err != nil {
		return o, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return o, nil
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func validVaultURL(s string) error {
	if s == "" {
		return errors.New("no vault URL: give --vault https://VAULT[:PORT]")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("vault URL %q: give http(s)://HOST[:PORT]", s)
	}
	if u.User != nil {
		return fmt.Errorf("vault URL %q carries credentials: the agent authenticates with its token only", u.Redacted())
	}
	return nil
}

// Objects are the objects of an install, in the order they are applied (CRDs aside).
type Objects struct {
	// Grant is the trust grant: Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding (and,
	// backup-only, the Role and RoleBinding in the agent's namespace); Reasons its rules with their
	// reasons by role kind.
	Grant         []runtime.Object
	Reasons       map[string][]trustgrant.Rule
	TokenSecret   *corev1.Secret
	SecretsSecret *corev1.Secret // nil without Options.Secrets
	StorageSecret *corev1.Secret // nil without Options.StorageEnv
	Deployment    *appsv1.Deployment
}

// All returns the objects in the order they are applied.
func (o Objects) All() []runtime.Object {
	out := slices.Clone(o.Grant)
	out = append(out, o.TokenSecret)
	if o.SecretsSecret != nil {
		out = append(out, o.SecretsSecret)
	}
	if o.StorageSecret != nil {
		out = append(out, o.StorageSecret)
	}
	return append(out, o.Deployment)
}

// Build checks opts and returns the objects an install applies (the embedded CRDs aside).
func Build(opts Options) (Objects, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Objects{}, err
	}
	return build(opts)
}

func build(opts Options) (Objects, error) {
	g, err := trustgrant.NewOf(opts.Grant, opts.Namespace, !opts.NoRBACEscalation)
	if err != nil {
		return Objects{}, err
	}
	ns := opts.Namespace
	secret := func(name string) *corev1.Secret {
		return &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: trustgrant.Labels()}, Type: corev1.SecretTypeOpaque}
	}
	objs := Objects{Grant: g.Objects(), Reasons: g.Reasons()}
	objs.TokenSecret = secret(TokenSecret)
	objs.TokenSecret.StringData = map[string]string{TokenKey: strings.TrimSpace(string(opts.Token))}
	if len(opts.Secrets) > 0 {
		objs.SecretsSecret = secret(SecretsSecret)
		objs.SecretsSecret.Data = map[string][]byte{}
		for k, v := range opts.Secrets {
			objs.SecretsSecret.Data[k] = v
		}
	}
	if len(opts.StorageEnv) > 0 {
		objs.StorageSecret = secret(StorageSecret)
		objs.StorageSecret.StringData = map[string]string{}
		for k, v := range opts.StorageEnv {
			objs.StorageSecret.StringData[k] = v
		}
	}
	objs.Deployment = deployment(opts)
	return objs, nil
}

// deployment is the agent's Deployment: one replica (two agents of one cluster would only compete
// for its jobs), replaced rather than rolled (Recreate) so two never run side by side.
func deployment(opts Options) *appsv1.Deployment {
	uid := *opts.RunAsUser
	command := opts.Command
	if len(command) == 0 {
		command = []string{BinaryPath, "agent", "run", "--vault", opts.VaultURL, "--token-file", TokenFile, "--secrets-dir", SecretsDir,
			"--metrics-address", fmt.Sprintf(":%d", MetricsPort), "--concurrency", strconv.Itoa(opts.Concurrency)}
	}
	// Secret files are root-owned; 0440 with the pod's fsGroup lets the agent's uid read them and
	// nobody else.
	secretMode := ptr.To(int32(0o440))
	volumes := []corev1.Volume{
		{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: TokenSecret, DefaultMode: secretMode}}},
		{Name: "secrets", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: SecretsSecret, DefaultMode: secretMode, Optional: ptr.To(true)}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "token", MountPath: TokenDir, ReadOnly: true},
		{Name: "secrets", MountPath: SecretsDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}
	for i, p := range opts.HostPaths {
		name := "host-" + strconv.Itoa(i)
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: p, Type: ptr.To(corev1.HostPathDirectory)}}})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: p})
	}
	env := []corev1.EnvVar{
		{Name: trustgrant.EnvPodName, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: trustgrant.EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}
	if opts.APIServer != "" {
		host, port, _ := net.SplitHostPort(opts.APIServer)
		// The kubelet sets these from the kubernetes Service; a container's own values win.
		env = append(env, corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: host}, corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: port})
	}
	podSecurity := &corev1.PodSecurityContext{
		RunAsUser:      ptr.To(uid),
		RunAsGroup:     ptr.To(uid),
		FSGroup:        ptr.To(uid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if uid != 0 {
		podSecurity.RunAsNonRoot = ptr.To(true)
	}
	dnsPolicy := corev1.DNSClusterFirst
	if opts.HostNetwork {
		dnsPolicy = corev1.DNSClusterFirstWithHostNet
	}
	selector := map[string]string{trustgrant.LabelName: trustgrant.AgentName}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: trustgrant.AgentName, Namespace: opts.Namespace, Labels: trustgrant.Labels()},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: trustgrant.Labels()},
				Spec: corev1.PodSpec{
					ServiceAccountName: trustgrant.AgentName,
					HostNetwork:        opts.HostNetwork,
					DNSPolicy:          dnsPolicy,
					SecurityContext:    podSecurity,
					// A stopping agent fails its running jobs and reports them: give it time.
					TerminationGracePeriodSeconds: ptr.To(int64(60)),
					Containers: []corev1.Container{{
						Name:            ContainerName,
						Image:           opts.Image,
						ImagePullPolicy: opts.PullPolicy,
						Command:         command,
						Ports:           []corev1.ContainerPort{{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}},
						Env:             env,
						EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: StorageSecret}, Optional: ptr.To(true)}}},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: requestCPU, corev1.ResourceMemory: requestMemory},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: limitMemory},
						},
						VolumeMounts: mounts,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						// The last log lines say why an agent that exits did.
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
					Volumes: volumes,
				},
			},
		},
	}
}
