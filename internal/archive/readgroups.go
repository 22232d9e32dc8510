package archive

import (
	"context"
	"fmt"
	"io"
)

// Reading many groups: a restore or a verification reads every section of a backup, most of them
// small (a namespace's ConfigMaps) and lying back to back in their packs, as the backup wrote
// them. One ranged read per section would cost a request each, which on an object store is most
// of the time and of the store's CPU.
const (
	// maxRunBytes bounds one read of back-to-back sections (a pack's size).
	maxRunBytes = packTargetBytes
	// maxRunRawBytes bounds what one run's sections hold once inflated. Objects of one kind compress
	// twenty times or more (Pods, Deployments), so a run bound by its stored size alone could hold
	// 80 MiB of items, and a restore holds a few runs at once.
	maxRunRawBytes = 2 * sectionTargetBytes
	// runsAhead is how many reads are under way, or read and waiting, beside the one whose items
	// fn is given: what overlaps the store's latency and the opening of sections (checking,
	// decrypting, inflating) with the caller's work, at a few runs' worth of memory.
	runsAhead = 2
)

// ReadGroups reads every section of groups, in order, and calls fn for each item with the index
// of its group in groups. Sections that lie back to back in a pack are read together, and the
// reads after the current one proceed meanwhile. A section that cannot be read or fails its
// checks is reported to failed, with its group's index, and reading goes on with the next; an
// error from fn stops the reading and is returned.
func (b *Backup) ReadGroups(ctx context.Context, groups []IndexGroup, fn func(group int, item []byte) error, failed func(group int, err error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan *pendingRun, runsAhead-1)
	go func() {
		defer close(queue)
		for _, run := range planRuns(groups) {
			p := &pendingRun{readRun: run, done: make(chan struct{})}
			go func() {
				defer close(p.done)
				p.read(ctx, b)
			}()
			select {
			case queue <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	for p := range queue {
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i, sec := range p.sections {
			if p.errs[i] != nil {
				failed(sec.group, p.errs[i])
				continue
			}
			for _, item := range p.items[i] {
				if err := fn(sec.group, item); err != nil {
					return err
				}
			}
		}
	}
	return ctx.Err()
}

// readRun is sections that lie back to back in one pack, read with one ranged read.
type readRun struct {
	pack           string
	offset, length int64
	rawBytes       int64
	sections       []runSection
}

type runSection struct {
	Section
	group int
}

// planRuns groups the sections of groups, in order, into runs.
func planRuns(groups []IndexGroup) []readRun {
	var runs []readRun
	for gi, g := range groups {
		for _, sec := range g.Sections {
			if n := len(runs); n > 0 {
				last := &runs[n-1]
				if last.pack == sec.Pack && last.offset+last.length == sec.Offset &&
					last.length+sec.Length <= maxRunBytes && last.rawBytes+sec.RawBytes <= maxRunRawBytes {
					last.length += sec.Length
					last.rawBytes += sec.RawBytes
					last.sections = append(last.sections, runSection{sec, gi})
					continue
				}
			}
			runs = append(runs, readRun{pack: sec.Pack, offset: sec.Offset, length: sec.Length, rawBytes: sec.RawBytes, sections: []runSection{{sec, gi}}})
		}
	}
	return runs
}

// pendingRun is a run being read: once done is closed, each section has its items or its error.
type pendingRun struct {
	readRun
	done  chan struct{}
	items [][][]byte
	errs  []error
}

func (p *pendingRun) read(ctx context.Context, b *Backup) {
	p.items, p.errs = make([][][]byte, len(p.sections)), make([]error, len(p.sections))
	data, err := b.readRange(ctx, p.pack, p.offset, p.length)
	for i, sec := range p.sections {
		if err != nil {
			p.errs[i] = err
			continue
		}
		p.items[i], p.errs[i] = b.openSection(sec.Section, data[sec.Offset-p.offset:][:sec.Length])
	}
}

// readRange reads length bytes of a pack at offset.
func (b *Backup) readRange(ctx context.Context, pack string, offset, length int64) ([]byte, error) {
	key := backupPrefix(b.rp.Name) + "packs/" + pack
	if _, ok := b.file("packs/" + pack); !ok {
		return nil, fmt.Errorf("index names pack %s, which the manifest does not list: %w", pack, ErrTampered)
	}
	rc, err := b.repo.storage.Get(ctx, key, offset, length)
	if err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", key, offset, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, length+1))
	if err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", key, offset, err)
	}
	if int64(len(data)) != length {
		return nil, fmt.Errorf("%s holds %d bytes at %d, the index says %d: %w", key, len(data), offset, length, ErrTampered)
	}
	return data, nil
}

// openSection checks a section's sealed bytes against the index, decrypts and inflates them and
// splits its items.
func (b *Backup) openSection(sec Section, data []byte) ([][]byte, error) {
	where := fmt.Sprintf("%spacks/%s section at %d", backupPrefix(b.rp.Name), sec.Pack, sec.Offset)
	if err := checkEntry(where, FileEntry{Size: sec.Length, SHA256: sec.SHA256}, data); err != nil {
		return nil, err
	}
	compressed, err := b.repo.keys.open(sectionContext(b.rp.ID, sec.Pack, sec.Offset), data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	items, err := b.repo.codec.decodeSection(compressed, sec.RawBytes, sec.Items)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return items, nil
}
