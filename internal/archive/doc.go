// Package archive reads and writes cairn's backup format (docs/design/format.md): the repository
// config and its keys, sealed and authenticated files, packs of compressed item sections, the group
// index, manifests and restore results. It knows blobs and bytes, not Kubernetes: the backup and
// restore engines give it items as JSON.
package archive
