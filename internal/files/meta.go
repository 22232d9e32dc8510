package files

import (
	"errors"
	"os/user"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// nodeFromStat fills a node's metadata from lstat.
func nodeFromStat(name string, st *unix.Stat_t, names *ownerNames) filerepo.Node {
	n := filerepo.Node{Name: name, Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid,
		MTime: st.Mtim.Nano(), ATime: st.Atim.Nano(), CTime: st.Ctim.Nano(),
		Inode: st.Ino, Device: st.Dev, Links: st.Nlink}
	n.User, n.Group = names.user(st.Uid), names.group(st.Gid)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		n.Type, n.Size = filerepo.TypeFile, st.Size
	case unix.S_IFDIR:
		n.Type = filerepo.TypeDir
	case unix.S_IFLNK:
		n.Type = filerepo.TypeSymlink
	case unix.S_IFIFO:
		n.Type = filerepo.TypeFifo
	case unix.S_IFCHR:
		n.Type, n.RDev = filerepo.TypeCharDev, st.Rdev
	case unix.S_IFBLK:
		n.Type, n.RDev = filerepo.TypeBlockDev, st.Rdev
	case unix.S_IFSOCK:
		n.Type = filerepo.TypeSocket
	}
	if n.Type != filerepo.TypeFile {
		n.ATime = 0 // listing a directory or reading a link changes it: recording it would change every tree
	}
	if n.Type != filerepo.TypeFile || n.Links < 2 {
		n.Links = 0 // only hard-linked files need it; it changes when links come and go
	}
	return n
}

// ownerNames caches user and group names by id.
type ownerNames struct {
	mu    sync.Mutex
	names map[ownerID]string
}

type ownerID struct {
	group bool
	id    uint32
}

func newOwnerNames() *ownerNames { return &ownerNames{names: map[ownerID]string{}} }

func (o *ownerNames) user(id uint32) string  { return o.name(ownerID{id: id}) }
func (o *ownerNames) group(id uint32) string { return o.name(ownerID{group: true, id: id}) }

// name looks an owner up once; one the system does not know has no name.
func (o *ownerNames) name(k ownerID) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	name, ok := o.names[k]
	if !ok {
		s := strconv.FormatUint(uint64(k.id), 10)
		if k.group {
			if g, err := user.LookupGroupId(s); err == nil {
				name = g.Name
			}
		} else if u, err := user.LookupId(s); err == nil {
			name = u.Username
		}
		o.names[k] = name
	}
	return name
}

// readXattrs reads a path's extended attributes (not following symlinks). File systems
// without them give none.
func readXattrs(path string) ([]filerepo.Xattr, error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		var out []filerepo.Xattr
		for _, name := range splitNul(buf[:n]) {
			v, err := getXattr(path, name)
			if err != nil {
				return out, err
			}
			out = append(out, filerepo.Xattr{Name: name, Value: v})
		}
		slices.SortFunc(out, func(a, b filerepo.Xattr) int {
			switch {
			case a.Name < b.Name:
				return -1
			case a.Name > b.Name:
				return 1
			}
			return 0
		})
		return out, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
