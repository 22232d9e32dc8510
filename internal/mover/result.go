package mover

import (
	"encoding/json"
	"fmt"
	"os"
)

// ResultMaxBytes is the termination message's limit (the kubelet truncates beyond 4 KiB).
const ResultMaxBytes = 4096

// Result is what a mover pod reports in its termination message: the pod's side of the protocol
// with Mover. The CLI writes it (`cairn files backup|restore --result-file`).
type Result struct {
	// FileSnapshot is the file snapshot a backup made or a restore read.
	FileSnapshot string  `json:"fileSnapshot"`
	Files        int64   `json:"files"`
	Bytes        int64   `json:"bytes"`
	AddedBytes   int64   `json:"addedBytes,omitempty"`
	Seconds      float64 `json:"seconds"`
	// Problems counts entries not read or not restored whole.
	Problems int64 `json:"problems,omitempty"`
}

// WriteResult writes r as JSON to path (the container's termination message file).
func WriteResult(path string, r Result) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// parseResult reads a pod's termination message.
func parseResult(msg string) (Result, error) {
	var r Result
	if len(msg) > ResultMaxBytes {
		return r, fmt.Errorf("result of %d bytes is over the %d-byte limit", len(msg), ResultMaxBytes)
	}
	if err := json.Unmarshal([]byte(msg), &r); err != nil {
		return r, fmt.Errorf("decode result %q: %w", msg, err)
	}
	if r.FileSnapshot == "" {
		return r, fmt.Errorf("result %q names no file snapshot", msg)
	}
	return r, nil
}
