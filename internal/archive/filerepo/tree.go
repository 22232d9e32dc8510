package filerepo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Node types (§13.1).
const (
	TypeFile     = "file"
	TypeDir      = "dir"
	TypeSymlink  = "symlink"
	TypeFifo     = "fifo"
	TypeCharDev  = "chardev"
	TypeBlockDev = "blockdev"
	TypeSocket   = "socket"
)

// Tree is one directory.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// Node is one entry of a directory (§13.1). Name and Target hold any bytes; the JSON encoding
// keeps those that are not UTF-8 in base64 fields.
type Node struct {
	Name       string       `json:"name,omitempty"`
	NameBase64 []byte       `json:"nameBase64,omitempty"`
	Type       string       `json:"type"`
	Mode       uint32       `json:"mode"`
	UID        uint32       `json:"uid"`
	GID        uint32       `json:"gid"`
	User       string       `json:"user,omitempty"`
	Group      string       `json:"group,omitempty"`
	MTime      int64        `json:"mtime"`
	ATime      int64        `json:"atime,omitempty"`
	CTime      int64        `json:"ctime,omitempty"`
	Inode      uint64       `json:"inode,omitempty"`
	Device     uint64       `json:"device,omitempty"`
	Links      uint64       `json:"links,omitempty"`
	Size       int64        `json:"size,omitempty"`
	Content    []ContentRef `json:"content,omitempty"`
	Subtree    *ID          `json:"subtree,omitempty"`
	Target     string       `json:"target,omitempty"`
	TargetB64  []byte       `json:"targetBase64,omitempty"`
	RDev       uint64       `json:"rdev,omitempty"`
	Xattrs     []Xattr      `json:"xattrs,omitempty"`
	Error      string       `json:"error,omitempty"`
}

// Xattr is one extended attribute.
type Xattr struct {
	Name  string `json:"name"`
	Value []byte `json:"value"`
}

// ContentRef is one piece of a file: a chunk, or a hole of Hole bytes.
type ContentRef struct {
	ID   ID
	Hole int64
}

// MarshalJSON writes a chunk as its hex ID and a hole as its length.
func (c ContentRef) MarshalJSON() ([]byte, error) {
	if c.Hole > 0 {
		return strconv.AppendInt(nil, c.Hole, 10), nil
	}
	b := make([]byte, 0, 66)
	b = append(b, '"')
	b = append(b, c.ID.String()...)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a hex ID or a hole's length.
func (c *ContentRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		id, err := ParseID(s)
		*c = ContentRef{ID: id}
		return err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("content: %s is neither a chunk ID nor a hole's length", b)
	}
	*c = ContentRef{Hole: n}
	return nil
}

// EncodeTree encodes a tree's plaintext: nodes sorted by name, names that are not UTF-8 in base64.
func EncodeTree(t *Tree) ([]byte, error) {
	slices.SortFunc(t.Nodes, func(a, b Node) int { return bytes.Compare([]byte(a.Name), []byte(b.Name)) })
	wire := make([]Node, len(t.Nodes))
	for i, n := range t.Nodes {
		if i > 0 && n.Name == t.Nodes[i-1].Name {
			return nil, fmt.Errorf("tree: two entries named %q", n.Name)
		}
		if !utf8.ValidString(n.Name) {
			n.NameBase64, n.Name = []byte(n.Name), ""
		}
		if !utf8.ValidString(n.Target) {
			n.TargetB64, n.Target = []byte(n.Target), ""
		}
		wire[i] = n
	}
	return json.Marshal(Tree{Nodes: wire})
}

// DecodeTree parses a tree's plaintext.
func DecodeTree(b []byte) (*Tree, error) {
	var t Tree
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("tree: %w", err)
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.NameBase64 != nil {
			n.Name, n.NameBase64 = string(n.NameBase64), nil
		}
		if n.TargetB64 != nil {
			n.Target, n.TargetB64 = string(n.TargetB64), nil
		}
		if err := n.check(); err != nil {
			return nil, err
		}
		if i > 0 && n.Name <= t.Nodes[i-1].Name {
			return nil, fmt.Errorf("tree: entries not sorted or repeated at %q", n.Name)
		}
	}
	return &t, nil
}

func (n *Node) check() error {
	switch {
	case n.Name == "" || n.Name == "." || n.Name == ".." || bytes.ContainsAny([]byte(n.Name), "/\x00"):
		return fmt.Errorf("tree: entry name %q is not a file name", n.Name)
	case n.Type == TypeDir && n.Subtree == nil:
		return fmt.Errorf("tree: directory %q has no subtree", n.Name)
	case n.Type != TypeDir && n.Subtree != nil:
		return fmt.Errorf("tree: %s %q has a subtree", n.Type, n.Name)
	case n.Size < 0:
		return fmt.Errorf("tree: %q has a negative size", n.Name)
	}
	switch n.Type {
	case TypeFile, TypeDir, TypeSymlink, TypeFifo, TypeCharDev, TypeBlockDev, TypeSocket:
		return nil
	}
	return fmt.Errorf("tree: entry %q has unknown type %q", n.Name, n.Type)
}
