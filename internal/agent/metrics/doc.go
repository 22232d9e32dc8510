// Package metrics is the agent's Prometheus metrics (docs/design/monitoring.md): the jobs it ran
// by kind and final state, how long they took, how many run, the items and bytes they processed
// (fed from their progress reports, so rate() gives objects and bytes per second), its calls to
// the vault, its last accepted heartbeat and the hook commands its jobs ran; beside them, in the
// same registry, its storage operations (package blob/metrics, through Registerer) and the Go and
// process collectors. Labels are bounded: job kinds and states, calls, results, hook kinds and
// phases, storage backends by URL scheme; never a recovery point's, job's, namespace's or path's
// name.
package metrics
