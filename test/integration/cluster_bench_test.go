//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/testenv"
)

// BenchmarkControlPlaneStartStop measures a fresh control plane (etcd, apiserver, controllers) from
// nothing to serving, and its full stop, with warm binaries.
func BenchmarkControlPlaneStartStop(b *testing.B) {
	ctx := context.Background()
	var start, stop time.Duration
	for b.Loop() {
		t0 := time.Now()
		c, err := testenv.StartCluster(ctx, "bench", testenv.ControlPlane)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := testenv.StopCluster(ctx, c); err != nil {
			b.Fatal(err)
		}
		start += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(start.Seconds()/float64(b.N), "start-s/op")
	b.ReportMetric(stop.Seconds()/float64(b.N), "stop-s/op")
}
