package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options configure a Snapshotter.
type Options struct {
	// Class is the VolumeSnapshotClass to use; empty takes each driver's default class.
	Class string
	// Policy may skip volumes on purpose; nil snapshots every volume that can be.
	Policy *Policy
	// Timeout bounds the wait for one snapshot to become ready, one restored snapshot to be ready,
	// and one snapshot to be deleted (default 10m).
	Timeout time.Duration
	// Parallelism is how many volumes are snapshotted at once (default 32). The driver does the
	// work; cairn only waits, so this mostly bounds the load on the apiserver.
	Parallelism int
	// Poll is how often a wait looks again (default 250ms).
	Poll time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Snapshotter takes, provisions and deletes CSI snapshots in one cluster.
type Snapshotter struct {
	client kubernetes.Interface
	dyn    dynamic.Interface
	opts   Options
	log    *slog.Logger
}

// New returns a Snapshotter for the cluster cfg points at.
func New(cfg *rest.Config, opts Options) (*Snapshotter, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return newWithClients(client, dyn, opts), nil
}

func newWithClients(client kubernetes.Interface, dyn dynamic.Interface, opts Options) *Snapshotter {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 32
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Snapshotter{client: client, dyn: dyn, opts: opts, log: opts.Logger}
}

// Class is the VolumeSnapshotClass asked for (empty: each driver's default).
func (s *Snapshotter) Class() string { return s.opts.Class }

// Timeout is the bound on each wait.
func (s *Snapshotter) Timeout() time.Duration { return s.opts.Timeout }

// ObjectName makes a name for an object cairn creates: prefix, then a hash of the parts, so that
// long names stay within the 253-character limit and differ whenever the parts do.
func ObjectName(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	return prefix + "-" + sum
}

// waitFor polls check every Poll until it reports done, fails, or the timeout passes.
func (s *Snapshotter) waitFor(ctx context.Context, timeout time.Duration, check func(context.Context) (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, s.opts.Poll, timeout, true, check)
}
