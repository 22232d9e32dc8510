// Package filerepo is the file store's format (docs/design/format.md, Part 2): keyed blob IDs,
// sealing, blob encoding, packs and their headers, index files and the in-memory index, trees,
// file snapshots, locks and garbage-collection marks, all kept under files/ in a cairn
// repository. It reads and writes these units; the engine that backs up, restores and collects
// garbage is package files.
package filerepo
