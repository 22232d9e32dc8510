package harness

import (
	"os"
	"testing"
	"time"
)

func TestProcessCPUCountsThisProcess(t *testing.T) {
	meter, err := StartCPUMeter(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); {
	}
	used, err := meter.Used()
	if err != nil {
		t.Fatal(err)
	}
	if used < 50*time.Millisecond || used > 10*time.Second {
		t.Errorf("200 ms of spinning used %s of CPU", used)
	}
	tree, err := ProcessTreeCPU(os.Getpid())
	if err != nil || tree < used {
		t.Errorf("the process tree's CPU %s (%v), want at least %s", tree, err, used)
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
