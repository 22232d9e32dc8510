package agent

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// moverSettings completes the data mover's settings from the agent's own pod, which the
// downward API names: the mover runs the agent's image, in its network and its namespace, unless
// told otherwise. Outside a pod, without --mover-image, volume data is not copied.
func (a *agent) moverSettings(ctx context.Context) usecase.MoverOptions {
	m := a.opts.Mover
	ns, name := a.opts.Getenv(trustgrant.EnvPodNamespace), a.opts.Getenv(trustgrant.EnvPodName)
	if m.Namespace == "" {
		m.Namespace = ns
	}
	if m.Namespace == "" {
		m.Namespace = trustgrant.DefaultNamespace
	}
	if m.Image != "" || ns == "" || name == "" {
		return m
	}
	client, err := kubernetes.NewForConfig(a.opts.Config)
	if err == nil {
		pod, gerr := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err = gerr; err == nil && len(pod.Spec.Containers) > 0 {
			m.Image = pod.Spec.Containers[0].Image
			m.HostNetwork = m.HostNetwork || pod.Spec.HostNetwork
		}
	}
	if err != nil {
		a.log.WarnContext(ctx, "the agent's own pod not read: volume data is copied only with --mover-image", "pod", ns+"/"+name, "error", err)
	}
	return m
}
