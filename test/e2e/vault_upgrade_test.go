//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// The app the cluster-upgrade scenario moves. Its CRD and ClusterRole are cluster-scoped, so their
// names are this test's own.
const (
	shopNS          = "upgrade-shop"
	shopGroup       = "shop.upgrade.e2e.cairn.dev"
	shopCRD         = "carts." + shopGroup
	shopClusterRole = "upgrade-e2e-cart-viewer"
)

var cartGVR = schema.GroupVersionResource{Group: shopGroup, Version: "v1", Resource: "carts"}

// TestClusterUpgrade is the cluster-upgrade scenario through the vault and its agents: an app in
// the shared cluster (KUBE_VERSION) is backed up on demand and restored, dry run first, into a
// fresh control plane of the newer Kubernetes (UPGRADE_KUBE_VERSION); every object, the CRD and
// its custom resource included, arrives with the spec it had.
func TestClusterUpgrade(t *testing.T) {
	ctx := t.Context()
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	newer, err := testenv.UpgradeKubeVersion()
	if err != nil {
		t.Fatal(err)
	}
	upgraded, err := testenv.StartCluster(ctx, "e2e-upgrade", testenv.ControlPlane, testenv.KubeVersion(newer))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testenv.StopCluster(context.Background(), upgraded); err != nil {
			t.Error(err)
		}
	})
	src, dst := appClientsOf(t, cluster), appClientsOf(t, upgraded)
	older := serverVersion(t, src.kube)
	if older != bins.KubeVersion {
		t.Fatalf("the shared cluster reports %s, hack/versions.sh says KUBE_VERSION=%s", older, bins.KubeVersion)
	}
	if got := serverVersion(t, dst.kube); got != newer {
		t.Fatalf("the upgraded cluster reports %s, want %s", got, newer)
	}

	v := startVault(t, "")
	secrets := secretsDir(t)
	v.register(t, "legacy", restConfigOf(t, cluster), secrets)
	v.register(t, "upgraded", restConfigOf(t, upgraded), secrets)
	waitFor(t, 30*time.Second, "the clusters' versions in the vault", func() bool {
		l, errL := v.admin.GetCluster(ctx, "legacy")
		u, errU := v.admin.GetCluster(ctx, "upgraded")
		return errL == nil && errU == nil && l.KubernetesVersion == older && u.KubernetesVersion == newer
	})

	deployShop(ctx, t, src)

	// An instance covering the app's namespace; cluster resources "auto" brings along what the
	// namespaced items need: the CRD of the custom resource, the ClusterRole a RoleBinding grants.
	// Its daily schedule is half a day away: the only backup is the on-demand one.
	day := policy.Duration(24 * time.Hour)
	at := v.clock.now().UTC().Add(12 * time.Hour).Format("15:04")
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "daily", Schedule: policy.Schedule{DailyAt: at},
		Retention: policy.Retention{Default: 7 * day}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: "shop", Cluster: "legacy", Policy: "daily",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{shopNS}, ClusterResources: "auto"},
		Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}
	job, err := v.admin.BackupNow(ctx, "shop", vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	j := v.waitJob(t, job.ID, 2*time.Minute)
	if j.State != vaultv1.JobSucceeded || j.Result == nil || j.Result.RecoveryPoint == nil || j.Result.RecoveryPoint.Phase != archive.PhaseCompleted {
		t.Fatalf("backup: %+v", j)
	}
	rp := *j.Result.RecoveryPoint
	t.Logf("recovery point %s: %d items, %d bytes stored, warnings %v", rp.Name, rp.Items, rp.StoredBytes, j.Result.Warnings)

	// The dry run checks the target and changes nothing.
	dry, err := v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: rp.Name, TargetCluster: "upgraded",
		Options: vaultv1.RestoreOptions{DryRun: true}})
	if err != nil {
		t.Fatal(err)
	}
	j = v.waitJob(t, dry.ID, 2*time.Minute)
	if j.State != vaultv1.JobSucceeded || j.Result == nil || j.Result.Restore == nil || !j.Result.Restore.DryRun {
		t.Fatalf("dry run: %+v", j)
	}
	for _, name := range []string{"agent", "permissions", "storage"} {
		if !hasCheck(j.Result.Checks, name) {
			t.Errorf("dry run: check %q missing or failed: %+v", name, j.Result.Checks)
		}
	}
	checkNoFailedItems(t, "dry run", j.Result.Restore)
	if _, err := dst.kube.CoreV1().Namespaces().Get(ctx, shopNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the dry run created namespace %s: %v", shopNS, err)
	}
	if _, err := dst.ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, shopCRD, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the dry run created CRD %s: %v", shopCRD, err)
	}

	// The restore for real, into the same namespace: what an upgrade by migration does.
	job, err = v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: rp.Name, TargetCluster: "upgraded"})
	if err != nil {
		t.Fatal(err)
	}
	j = v.waitJob(t, job.ID, 3*time.Minute)
	if j.State != vaultv1.JobSucceeded || j.Result == nil || j.Result.Restore == nil || j.Result.Restore.DryRun || len(j.Result.Errors) > 0 {
		t.Fatalf("restore: %+v", j)
	}
	sum := j.Result.Restore
	checkNoFailedItems(t, "restore", sum)
	t.Logf("restore %s into %s: %d created, %d skipped, %d unchanged; warnings %v", sum.Name, newer, sum.Created, sum.Skipped,
		sum.Unchanged, j.Result.Warnings)

	views := shopViews()
	if sum.Created < len(views) {
		t.Errorf("restore created %d objects, the app has %d", sum.Created, len(views))
	}
	for _, view := range views {
		want, err := view.get(ctx, src)
		if err != nil {
			t.Errorf("%s in %s: %v", view.what, older, err)
			continue
		}
		got, err := view.get(ctx, dst)
		if err != nil {
			t.Errorf("%s in %s: %v", view.what, newer, err)
			continue
		}
		wantJSON, gotJSON := mustJSON(t, want), mustJSON(t, got)
		if !bytes.Equal(wantJSON, gotJSON) {
			t.Errorf("%s differs after the upgrade:\n  %s: %s\n  %s: %s", view.what, older, wantJSON, newer, gotJSON)
		}
	}

	// The restored app is live in the newer cluster: its Deployment's controller acts on it.
	waitFor(t, time.Minute, "a ReplicaSet of the restored Deployment", func() bool {
		list, err := dst.kube.AppsV1().ReplicaSets(shopNS).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(list.Items) == 1
	})
}

// appClients reaches one cluster through the clients the app's objects need.
type appClients struct {
	cfg  *rest.Config
	kube kubernetes.Interface
	ext  apiextensionsclient.Interface
	dyn  dynamic.Interface
}

func appClientsOf(t *testing.T, c *localcluster.Cluster) appClients {
	t.Helper()
	cfg := restConfigOf(t, c)
	ext, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return appClients{cfg: cfg, kube: clientOf(t, c), ext: ext, dyn: dyn}
}

// serverVersion is what the cluster's /version answers.
func serverVersion(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	info, err := c.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	return info.GitVersion
}

func checkNoFailedItems(t *testing.T, what string, sum *vaultv1.RestoreSummary) {
	t.Helper()
	if sum.Failed != 0 {
		t.Errorf("%s: %d failed items", what, sum.Failed)
	}
	for _, it := range sum.Items {
		if it.Action == "fail" {
			t.Errorf("%s: %s %s/%s failed: %s", what, it.Resource, it.Namespace, it.Name, it.Reason)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// deployShop creates the app in the source cluster and waits until its Deployment is available;
// the test's end deletes it, its CRD and its ClusterRole.
func deployShop(ctx context.Context, t *testing.T, c appClients) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.Background()
		deleteNamespace(ctx, t, c.kube, shopNS)
		if err := c.ext.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, shopCRD, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
		if err := c.kube.RbacV1().ClusterRoles().Delete(ctx, shopClusterRole, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	})
	if _, err := crds.Apply(ctx, c.cfg, []apiextensionsv1.CustomResourceDefinition{cartCRD()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: shopNS,
		Labels: map[string]string{"team": "checkout"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().ServiceAccounts(shopNS).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s got no default service account: %v", shopNS, err)
	}

	labels := map[string]string{"app": "web"}
	ns, create := shopNS, metav1.CreateOptions{}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
	}
	_, err = c.kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-config"},
		Data:       map[string]string{"LISTEN": ":8080", "currency.json": `{"default":"EUR","accepted":["EUR","USD"]}`},
		BinaryData: map[string][]byte{"favicon.ico": {0x00, 0x00, 0x01, 0x00, 0xff, 0xfe, 0x00}}}, create)
	must("configmap", err)
	_, err = c.kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-db"},
		Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{"username": []byte("shop"), "password": []byte("s3cr3t")}}, create)
	must("secret", err)
	_, err = c.kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		AutomountServiceAccountToken: ptr.To(false)}, create)
	must("service account", err)
	_, err = c.kube.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromString("50%"))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"shop.example/tier": "frontend"}},
				Spec:       corev1.PodSpec{ServiceAccountName: "web", TerminationGracePeriodSeconds: ptr.To[int64](0), Containers: []corev1.Container{webContainer()}},
			},
		},
	}, create)
	must("deployment", err)
	_, err = c.kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}, create)
	must("service", err)
	_, err = c.kube.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "abandoned-carts"},
		Spec: batchv1.CronJobSpec{
			Schedule: "15 3 * * *", TimeZone: ptr.To("Europe/Berlin"), Suspend: ptr.To(true),
			ConcurrencyPolicy: batchv1.ForbidConcurrent, SuccessfulJobsHistoryLimit: ptr.To[int32](1),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](2),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure,
					Containers: []corev1.Container{{Name: "sweep", Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
						Command: []string{"sh", "-c", "echo sweeping abandoned carts"}}}}}}},
		},
	}, create)
	must("cronjob", err)
	_, err = c.kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 6,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](120),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}},
		},
	}, create)
	must("horizontal pod autoscaler", err)
	_, err = c.kube.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow)}}, create)
	must("pod disruption budget", err)
	prefix := networkingv1.PathTypePrefix
	_, err = c.kube.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"shop.example/rate-limit": "100"}},
		Spec: networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.test"}, SecretName: "web-tls"}},
			Rules: []networkingv1.IngressRule{{Host: "shop.example.test", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}}}}}}}},
		},
	}, create)
	must("ingress", err)
	_, err = c.kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "web-config-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"web-config"},
			Verbs: []string{"get", "watch"}}}}, create)
	must("role", err)
	_, err = c.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "web-config-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "web", Namespace: ns}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "web-config-reader"}}, create)
	must("role binding", err)
	_, err = c.kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: shopClusterRole},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{shopGroup}, Resources: []string{"carts"}, Verbs: []string{"get", "list", "watch"}}}}, create)
	must("cluster role", err)
	_, err = c.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "support-cart-viewers"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "support"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: shopClusterRole}}, create)
	must("role binding to a cluster role", err)
	cart := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": shopGroup + "/v1", "kind": "Cart",
		"metadata": map[string]any{"name": "cart-4711", "labels": map[string]any{"customer": "c-42"}},
		"spec": map[string]any{"customer": "c-42", "currency": "EUR",
			"lines": []any{map[string]any{"sku": "MUG-1", "quantity": int64(2)}, map[string]any{"sku": "TEE-9", "quantity": int64(1)}}},
	}}
	_, err = c.dyn.Resource(cartGVR).Namespace(ns).Create(ctx, cart, create)
	must("cart", err)

	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := c.kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 2, nil
	})
	if err != nil {
		t.Fatalf("deployment web not available in the source cluster: %v", err)
	}
}

func webContainer() corev1.Container {
	return corev1.Container{
		Name: "web", Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
		Command: []string{"sh", "-c", "exec httpd -f -p 8080 -h /tmp"},
		Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
		Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "web-db"}, Key: "password"}}}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
			PeriodSeconds: 2},
	}
}

func cartCRD() apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: shopCRD},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: shopGroup, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "carts", Singular: "cart", Kind: "Cart", ListKind: "CartList",
				ShortNames: []string{"ct"}},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					{Name: "Customer", Type: "string", JSONPath: ".spec.customer"}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Required: []string{"customer"}, Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"customer": str,
							"currency": {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"EUR"`)}, {Raw: []byte(`"USD"`)}}},
							"lines": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
								Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
									"sku": str, "quantity": {Type: "integer", Minimum: ptr.To(1.0)}}}}},
						}},
						"status": {Type: "object", XPreserveUnknownFields: ptr.To(true)},
					},
				}},
			}},
		},
	}
}

// shopView is what is compared of one object of the app: the fields its owner wrote, not those
// the cluster allocates (a Service's cluster IP, uids, timestamps) or reports (status).
type shopView struct {
	what string
	get  func(ctx context.Context, c appClients) (any, error)
}

type containerView struct {
	Name, Image     string
	Command         []string
	Ports           []corev1.ContainerPort
	Env             []corev1.EnvVar
	EnvFrom         []corev1.EnvFromSource
	Resources       corev1.ResourceRequirements
	ReadinessProbe  *corev1.Probe
	ImagePullPolicy corev1.PullPolicy
}

func containerViews(cs []corev1.Container) []containerView {
	var out []containerView
	for _, c := range cs {
		out = append(out, containerView{Name: c.Name, Image: c.Image, Command: c.Command, Ports: c.Ports, Env: c.Env, EnvFrom: c.EnvFrom,
			Resources: c.Resources, ReadinessProbe: c.ReadinessProbe, ImagePullPolicy: c.ImagePullPolicy})
	}
	return out
}

func shopViews() []shopView {
	get := metav1.GetOptions{}
	return []shopView{
		{"namespace " + shopNS, func(ctx context.Context, c appClients) (any, error) {
			ns, err := c.kube.CoreV1().Namespaces().Get(ctx, shopNS, get)
			if err != nil {
				return nil, err
			}
			return ns.Labels, nil
		}},
		{"CRD " + shopCRD, func(ctx context.Context, c appClients) (any, error) {
			crd, err := c.ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, shopCRD, get)
			if err != nil {
				return nil, err
			}
			s := crd.Spec
			return []any{s.Group, s.Scope, s.Names, s.Versions}, nil
		}},
		{"cart cart-4711", func(ctx context.Context, c appClients) (any, error) {
			cart, err := c.dyn.Resource(cartGVR).Namespace(shopNS).Get(ctx, "cart-4711", get)
			if err != nil {
				return nil, err
			}
			return []any{cart.GetLabels(), cart.Object["spec"]}, nil
		}},
		{"configmap web-config", func(ctx context.Context, c appClients) (any, error) {
			cm, err := c.kube.CoreV1().ConfigMaps(shopNS).Get(ctx, "web-config", get)
			if err != nil {
				return nil, err
			}
			return []any{cm.Data, cm.BinaryData}, nil
		}},
		{"secret web-db", func(ctx context.Context, c appClients) (any, error) {
			s, err := c.kube.CoreV1().Secrets(shopNS).Get(ctx, "web-db", get)
			if err != nil {
				return nil, err
			}
			return []any{s.Type, s.Data}, nil
		}},
		{"service account web", func(ctx context.Context, c appClients) (any, error) {
			sa, err := c.kube.CoreV1().ServiceAccounts(shopNS).Get(ctx, "web", get)
			if err != nil {
				return nil, err
			}
			return sa.AutomountServiceAccountToken, nil
		}},
		{"deployment web", func(ctx context.Context, c appClients) (any, error) {
			d, err := c.kube.AppsV1().Deployments(shopNS).Get(ctx, "web", get)
			if err != nil {
				return nil, err
			}
			s, p := d.Spec, d.Spec.Template.Spec
			return []any{d.Labels, s.Replicas, s.Selector, s.Strategy, s.Template.Labels, s.Template.Annotations, p.ServiceAccountName,
				p.TerminationGracePeriodSeconds, containerViews(p.Containers)}, nil
		}},
		{"service web", func(ctx context.Context, c appClients) (any, error) {
			s, err := c.kube.CoreV1().Services(shopNS).Get(ctx, "web", get)
			if err != nil {
				return nil, err
			}
			if s.Spec.ClusterIP == "" {
				return nil, fmt.Errorf("service web has no cluster IP")
			}
			return []any{s.Labels, s.Spec.Type, s.Spec.Selector, s.Spec.Ports, s.Spec.SessionAffinity}, nil
		}},
		{"cronjob abandoned-carts", func(ctx context.Context, c appClients) (any, error) {
			cj, err := c.kube.BatchV1().CronJobs(shopNS).Get(ctx, "abandoned-carts", get)
			if err != nil {
				return nil, err
			}
			s, js := cj.Spec, cj.Spec.JobTemplate.Spec
			return []any{s.Schedule, s.TimeZone, s.Suspend, s.ConcurrencyPolicy, s.SuccessfulJobsHistoryLimit, js.BackoffLimit,
				js.Template.Spec.RestartPolicy, containerViews(js.Template.Spec.Containers)}, nil
		}},
		{"horizontal pod autoscaler web", func(ctx context.Context, c appClients) (any, error) {
			h, err := c.kube.AutoscalingV2().HorizontalPodAutoscalers(shopNS).Get(ctx, "web", get)
			if err != nil {
				return nil, err
			}
			return h.Spec, nil
		}},
		{"pod disruption budget web", func(ctx context.Context, c appClients) (any, error) {
			p, err := c.kube.PolicyV1().PodDisruptionBudgets(shopNS).Get(ctx, "web", get)
			if err != nil {
				return nil, err
			}
			return p.Spec, nil
		}},
		{"ingress web", func(ctx context.Context, c appClients) (any, error) {
			i, err := c.kube.NetworkingV1().Ingresses(shopNS).Get(ctx, "web", get)
			if err != nil {
				return nil, err
			}
			return []any{i.Annotations, i.Spec}, nil
		}},
		{"role web-config-reader", func(ctx context.Context, c appClients) (any, error) {
			r, err := c.kube.RbacV1().Roles(shopNS).Get(ctx, "web-config-reader", get)
			if err != nil {
				return nil, err
			}
			return r.Rules, nil
		}},
		{"role binding web-config-reader", func(ctx context.Context, c appClients) (any, error) {
			b, err := c.kube.RbacV1().RoleBindings(shopNS).Get(ctx, "web-config-reader", get)
			if err != nil {
				return nil, err
			}
			return []any{b.Subjects, b.RoleRef}, nil
		}},
		{"role binding support-cart-viewers", func(ctx context.Context, c appClients) (any, error) {
			b, err := c.kube.RbacV1().RoleBindings(shopNS).Get(ctx, "support-cart-viewers", get)
			if err != nil {
				return nil, err
			}
			return []any{b.Subjects, b.RoleRef}, nil
		}},
		{"cluster role " + shopClusterRole, func(ctx context.Context, c appClients) (any, error) {
			r, err := c.kube.RbacV1().ClusterRoles().Get(ctx, shopClusterRole, get)
			if err != nil {
				return nil, err
			}
			return r.Rules, nil
		}},
	}
}
