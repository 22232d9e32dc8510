package archive

import "time"

// Hook outcomes.
const (
	HookSucceeded = "Succeeded"
	HookFailed    = "Failed"
	HookTimedOut  = "TimedOut"
	// HookNotRun: the container never became ready to run it (restore hooks).
	HookNotRun = "NotRun"
)

// HookExecution records one hook command run in a container, in a backup's manifest or a
// restore's result.
type HookExecution struct {
	// Hook is "<namespace>/<BackupHook or RestoreHook name>/<rule name>".
	Hook            string    `json:"hook"`
	Phase           string    `json:"phase"` // pre or post
	Namespace       string    `json:"namespace"`
	Pod             string    `json:"pod"`
	Container       string    `json:"container"`
	Command         []string  `json:"command"`
	OnError         string    `json:"onError"`
	StartedAt       time.Time `json:"startedAt"`
	DurationSeconds float64   `json:"durationSeconds"`
	ExitCode        int       `json:"exitCode"`
	Stdout          string    `json:"stdout,omitempty"` // the last 4 KiB
	Stderr          string    `json:"stderr,omitempty"` // the last 4 KiB
	Outcome         string    `json:"outcome"`
	Error           string    `json:"error,omitempty"`
}
