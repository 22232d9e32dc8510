// Package mover copies persistent volumes' data between a cluster and the repository's file store
// through short-lived pods: a backup exposes a volume's CSI snapshot as a claim in the mover
// namespace and a pod running `cairn files backup` reads it; a volume without a snapshot that is
// opted in to the file-system backup is read in place by such a pod on the node that runs it
// (its hostPath, local path, NFS export, or its mount in the kubelet's pod directory); a restore
// fills a new claim with `cairn files restore` and hands its volume to the restored claim
// (docs/design/volumes.md, "the copy tier"). Every object it makes is labelled, deleted when its
// copy ends, and swept at start when an earlier process died before.
package mover
