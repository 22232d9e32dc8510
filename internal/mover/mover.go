package mover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// Labels and annotations on what the mover makes.
const (
	// LabelMover marks every object the mover makes; its value names the recovery point or
	// restore the object served.
	LabelMover = "backup.cairn.dev/mover"
	// annotationReclaim keeps a filled volume's reclaim policy while it is handed to its claim.
	annotationReclaim = "backup.cairn.dev/reclaim-policy"
)

// DefaultKubeletRoot is the kubelet's usual root directory.
const DefaultKubeletRoot = "/var/lib/kubelet"

// Options configure a Mover.
type Options struct {
	// Namespace is where the mover's pods, claims and secrets live (default cairn-system).
	Namespace string
	// Image is the image of the mover pods: cairn's own, with the cairn binary as entrypoint.
	Image string
	// HostNetwork runs the pods in the node's network (a storage endpoint only the node reaches).
	HostNetwork bool
	// Parallelism is how many volumes are copied or filled at once (default 4).
	Parallelism int
	// Timeout bounds one copy or fill, from its first object to the pod's end (default 1h).
	Timeout time.Duration
	// Storage is the repository's URL; Credential unlocks it; Getenv gives the storage
	// credentials passed to the pods.
	Storage    string
	Credential archive.Credential
	Getenv     func(string) string
	// KubeletRoot is the kubelet's root directory on the nodes, where the file-system backup finds
	// the volumes mounted into pods (default /var/lib/kubelet).
	KubeletRoot string
	// Poll is how often a wait looks again (default 500ms).
	Poll time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Mover copies volume data between a cluster and the repository's file store.
type Mover struct {
	client kubernetes.Interface
	snaps  *snapshot.Snapshotter
	opts   Options
	log    *slog.Logger
	// sem bounds the copies and fills running at once.
	sem chan struct{}
}

// New returns a Mover for the cluster cfg points at; snaps exposes and deletes snapshots.
func New(cfg *rest.Config, snaps *snapshot.Snapshotter, opts Options) (*Mover, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return newWithClient(client, snaps, opts)
}

func newWithClient(client kubernetes.Interface, snaps *snapshot.Snapshotter, opts Options) (*Mover, error) {
	if opts.Namespace == "" {
		opts.Namespace = trustgrant.DefaultNamespace
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Hour
	}
	if opts.KubeletRoot == "" {
		opts.KubeletRoot = DefaultKubeletRoot
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mover{client: client, snaps: snaps, opts: opts, log: opts.Logger, sem: make(chan struct{}, opts.Parallelism)}, nil
}

// ready fails unless the mover can run pods that reach the repository; a mover that only
// sweeps needs neither.
func (m *Mover) ready() error {
	if m.opts.Image == "" {
		return errors.New("no data mover image: name one with --mover-image (cairn's image, e.g. the agent's)")
	}
	if m.opts.Storage == "" {
		return errors.New("no repository storage URL for the data mover")
	}
	return nil
}

// slot waits for a free slot among Parallelism and returns its release.
func (m *Mover) slot(ctx context.Context) (func(), error) {
	select {
	case m.sem <- struct{}{}:
		return func() { <-m.sem }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Namespace is where the mover works.
func (m *Mover) Namespace() string { return m.opts.Namespace }
