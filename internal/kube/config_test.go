package kube

import (
	"testing"

	"k8s.io/client-go/rest"
)

func TestTuneAsksForGzipOnlyWhenTold(t *testing.T) {
	for _, gzip := range []bool{false, true} {
		cfg := &rest.Config{}
		Target{Gzip: gzip}.Tune(cfg, "cairn-test")
		if cfg.DisableCompression == gzip || cfg.QPS != ClientQPS || cfg.Burst != ClientBurst || cfg.UserAgent != "cairn-test" {
			t.Errorf("gzip %v: %+v", gzip, cfg)
		}
	}
}
