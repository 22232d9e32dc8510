// Package files is the file-data engine: it backs up a directory into the repository's file
// store (docs/design/format.md, Part 2), restores a snapshot or part of it, forgets snapshots,
// collects garbage in two phases and verifies the store. The format itself (blobs, packs, index,
// trees, snapshots, locks, marks) is package filerepo's.
package files
