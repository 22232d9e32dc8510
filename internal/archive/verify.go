package archive

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cairnbackup/cairn/internal/blob"
)

// VerifyReport lists every problem found in a backup; an empty Problems means it is intact.
type VerifyReport struct {
	Name     string
	Files    int
	Sections int
	Items    int
	Problems []string
}

// Verify checks a backup end to end (docs/design/format.md §6): the manifest's authentication,
// every file's presence, size and checksum, no extra files, and every section's integrity and
// contents.
func (r *Repository) Verify(ctx context.Context, name string) (VerifyReport, error) {
	return r.verify(ctx, name, true)
}

// VerifyStructure checks a backup without reading its packs: the manifest's authentication,
// every file's presence and size, no extra files, and the index (checksum, authentication,
// contents) with its sections tiling each pack exactly. A byte changed inside a pack, its size
// kept, is left to Verify.
func (r *Repository) VerifyStructure(ctx context.Context, name string) (VerifyReport, error) {
	return r.verify(ctx, name, false)
}

// verify is Verify, or VerifyStructure when readPacks is false.
func (r *Repository) verify(ctx context.Context, name string, readPacks bool) (VerifyReport, error) {
	rep := VerifyReport{Name: name}
	b, err := r.OpenBackup(ctx, name)
	if err != nil {
		return rep, err
	}
	rp := b.Manifest()
	prefix := backupPrefix(name)
	stored := map[string]int64{}
	if err := r.storage.List(ctx, prefix, func(info blob.Info) error {
		stored[strings.TrimPrefix(info.Key, prefix)] = info.Size
		return nil
	}); err != nil {
		return rep, fmt.Errorf("list backup %q: %w", name, err)
	}
	listed := map[string]bool{"manifest": true}
	if _, ok := stored[snapshotsDeletedFile]; ok {
		// Written after the commit by retention (format §4.3.2): part of the backup if authentic.
		listed[snapshotsDeletedFile] = true
		if _, _, err := r.readSnapshotsDeleted(ctx, name); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	for _, f := range rp.Files {
		listed[f.Name] = true
		rep.Files++
		size, ok := stored[f.Name]
		switch {
		case !ok:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s%s is missing", prefix, f.Name))
			continue
		case size != f.Size:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s%s holds %d bytes, the manifest says %d", prefix, f.Name, size, f.Size))
			continue
		}
		if !readPacks && strings.HasPrefix(f.Name, "packs/") {
			continue // the index, the one other file, is checked whole below
		}
		if err := r.checkFile(ctx, prefix+f.Name, f); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	var extra []string
	for n := range stored {
		if !listed[n] {
			extra = append(extra, prefix+n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		rep.Problems = append(rep.Problems, n+" is not part of the backup (added after it committed)")
	}
	if len(rep.Problems) > 0 {
		return rep, nil // the index and sections are not trustworthy; their own errors would repeat these
	}
	ix, err := b.Index(ctx)
	if err != nil {
		rep.Problems = append(rep.Problems, err.Error())
		return rep, nil
	}
	rep.Problems = append(rep.Problems, tilingProblems(prefix, rp.Files, ix)...)
	if !readPacks {
		for _, g := range ix.Groups {
			rep.Sections += len(g.Sections)
		}
		return rep, nil
	}
	for _, g := range ix.Groups {
		rep.Sections += len(g.Sections)
	}
	err = b.ReadGroups(ctx, ix.Groups, func(int, []byte) error { rep.Items++; return nil }, func(_ int, err error) {
		rep.Problems = append(rep.Problems, err.Error())
	})
	if err != nil {
		return rep, err
	}
	if rep.Items != rp.Result.Items && len(rep.Problems) == 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the sections hold %d items, the manifest says %d", rep.Items, rp.Result.Items))
	}
	return rep, nil
}

func (r *Repository) checkFile(ctx context.Context, key string, f FileEntry) error {
	data, err := r.readAll(ctx, key, f.Size)
	if err != nil {
		return err
	}
	return checkEntry(key, f, data)
}

// tilingProblems checks that the sections of each pack cover it exactly, without gap or overlap.
func tilingProblems(prefix string, files []FileEntry, ix *Index) []string {
	byPack := map[string][]Section{}
	for _, g := range ix.Groups {
		for _, s := range g.Sections {
			byPack[s.Pack] = append(byPack[s.Pack], s)
		}
	}
	var problems []string
	for _, f := range files {
		pack, ok := strings.CutPrefix(f.Name, "packs/")
		if !ok {
			continue
		}
		secs := byPack[pack]
		sort.Slice(secs, func(i, j int) bool { return secs[i].Offset < secs[j].Offset })
		var at int64
		for _, s := range secs {
			if s.Offset != at {
				problems = append(problems, fmt.Sprintf("%s%s: sections leave a gap or overlap at byte %d", prefix, f.Name, at))
				break
			}
			at += s.Length
		}
		if at != f.Size && len(secs) > 0 {
			problems = append(problems, fmt.Sprintf("%s%s: sections cover %d of %d bytes", prefix, f.Name, at, f.Size))
		}
		if len(secs) == 0 {
			problems = append(problems, fmt.Sprintf("%s%s: no section of the index lies in it", prefix, f.Name))
		}
		delete(byPack, pack)
	}
	for pack := range byPack {
		problems = append(problems, fmt.Sprintf("the index names pack %s, which the manifest does not list", pack))
	}
	return problems
}
