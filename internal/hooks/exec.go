package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
)

// Executor runs a command in a container through the pods/exec subresource, directly (never via
// a shell).
type Executor interface {
	// Exec runs command and copies its output to stdout and stderr. A command that ran and
	// exited non-zero returns its exit code and a nil error; err is for failures to run it at all
	// (transport, API, cancelled ctx).
	Exec(ctx context.Context, namespace, pod, container string, command []string, stdout, stderr io.Writer) (exitCode int, err error)
}

// kubeExecutor execs over WebSocket, falling back to SPDY for API servers that do not upgrade to
// WebSocket, as kubectl does.
type kubeExecutor struct {
	cfg      *rest.Config
	client   kubernetes.Interface
	spdy     http.RoundTripper
	upgrader spdy.Upgrader
}

// NewExecutor returns the Executor that runs commands in the cluster of cfg.
func NewExecutor(cfg *rest.Config, client kubernetes.Interface) (Executor, error) {
	if cfg == nil || client == nil {
		return nil, errors.New("hook executor: a REST config and a client are required")
	}
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("hook executor: %w", err)
	}
	return &kubeExecutor{cfg: cfg, client: client, spdy: rt, upgrader: upgrader}, nil
}

func (k *kubeExecutor) Exec(ctx context.Context, namespace, pod, container string, command []string, stdout, stderr io.Writer) (int, error) {
	u := k.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: stdout != nil, Stderr: stderr != nil},
			scheme.ParameterCodec).URL()
	ws, err := remotecommand.NewWebSocketExecutor(k.cfg, "GET", u.String())
	if err != nil {
		return -1, fmt.Errorf("exec in %s/%s: %w", namespace, pod, err)
	}
	sp, err := remotecommand.NewSPDYExecutorForTransports(k.spdy, k.upgrader, "POST", u)
	if err != nil {
		return -1, fmt.Errorf("exec in %s/%s: %w", namespace, pod, err)
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, sp, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return -1, fmt.Errorf("exec in %s/%s: %w", namespace, pod, err)
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
	var exitErr utilexec.CodeExitError
	switch {
	case errors.As(err, &exitErr):
		return exitErr.Code, nil
	case err != nil:
		return -1, fmt.Errorf("exec in %s/%s container %s: %w", namespace, pod, container, err)
	}
	return 0, nil
}
