// Package usecase is the one way to run a backup or a restore: `cairn backup create` and
// `cairn restore create` on the command line and the agent's backup and restore jobs all call it,
// as kopia's command line and server both call one uploader (snapshotfs.Uploader). It opens or
// initialises the repository, loads the hooks, builds the snapshotter, runs a restore's pre-flight
// checks and calls the engines (backup, restore, snapshot, hooks). The front ends only map their
// input (flags, a job's spec) to a request and the result to their output, and word errors for
// their users.
package usecase
