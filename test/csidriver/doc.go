// Package csidriver is a small CSI driver for cairn's local test clusters. It is test
// infrastructure standing in for csi-driver-host-path plus node-driver-registrar, which the Go
// module proxy does not serve: the real CSI sidecars (external-provisioner, csi-snapshotter) and a
// real kubelet talk to it over its unix socket, and when a registration directory is configured it
// also serves the kubelet's plugin registration API itself, as node-driver-registrar would.
//
// Volumes are directories, snapshots are point-in-time copies of them, and NodePublishVolume
// bind-mounts a volume's directory onto the kubelet's target path (read-only when the request says
// readonly). Both access types are supported, in any access mode: a **block** volume's directory
// holds one sparse file, block.img, of the volume's capacity (all zeros when new); publishing it
// attaches a loop device to the image (losetup, read-only when the request says readonly), creates
// the target file and bind-mounts the device node onto it; unpublishing reads which loop device is
// mounted there (its device number, and /sys/dev/block/7:N/loop/backing_file, which must lie in the
// state directory, compared by absolute real path), unmounts it and detaches the device. A volume
// is made only from a source of its own access type, and published only for it. There is no
// topology, staging, expansion or volume statistics.
//
// All state lives in files under the state directory, so several driver processes (one per local
// cluster) may share one:
//
//	<state>/volumes/<volume-id>.json      metadata: name, capacityBytes, accessType ("block", or absent
//	                                      for mount), sourceSnapshot|sourceVolume, createdAt
//	<state>/volumes/<volume-id>/          data (mode 0777 when created empty, so any Pod user can write);
//	                                      a block volume's holds block.img alone (mode 0600, sparse)
//	<state>/snapshots/<snapshot-id>.json  metadata: name, sourceVolume, sizeBytes, createdAt, neverReady,
//	                                      mode (full|incremental), parent (incremental only, if any),
//	                                      uniqueBytes (bytes copied rather than hard-linked)
//	<state>/snapshots/<snapshot-id>/      data: a copy of the source volume's data directory, or for an
//	                                      incremental snapshot hard links to its parent's unchanged files
//	<state>/locks/<id>.lock               flock(2) file serialising changes to one object
//
// IDs derive from the CSI request name ("vol-" or "snap-" followed by the first 20 hex digits of
// the name's SHA-256), so CreateVolume and CreateSnapshot are idempotent by name without shared
// memory. A new object's data directory is filled under a temporary name (".tmp-<id>-*") and
// renamed into place before its metadata file is written (temporary file + rename): an object
// exists exactly when its metadata file does, and its data is complete by then. Deletion removes
// the metadata first, then the data. Copies keep directories, symlinks and regular files with
// their modes and modification times (and owners, when running as root), and the holes of sparse
// files; other file types are skipped.
//
// Snapshot modes: the parameter SnapshotModeParameter of a VolumeSnapshotClass selects
// SnapshotModeFull (the default: every file is copied) or SnapshotModeIncremental. An incremental
// snapshot's parent is the newest earlier snapshot of the same volume, in either mode; each regular
// file whose size, mode and modification time (and owner, when running as root) equal those of the
// parent's file at the same path is hard-linked from the parent, the rest is copied. Snapshot data
// is never written after it is complete, so hard links keep every snapshot independent: deleting
// one, parent or not, changes no other. The parent is locked while its files are linked, so it
// cannot be deleted half-way. sizeBytes, which CSI reports as the restore size, counts shared
// files too. A volume created from a snapshot (or cloned from a volume) is always a full copy, so
// writes to it never reach a snapshot.
//
// A snapshot whose parameters set NeverReadyParameter to "true" is recorded like any other but
// always reported as not ready to use, so tests can exercise a snapshot that never becomes ready.
package csidriver
