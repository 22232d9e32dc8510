package filerepo

import (
	"testing"
)

// The readers of every binary or JSON unit are fuzzed on their plaintext: errors, never a
// panic or a hang (format §9).

func FuzzPackHeader(f *testing.F) {
	f.Add(encodePackHeader([]Entry{{Type: DataBlob, ID: ID{1}, Length: 40, RawLength: 12}, {Type: TreeBlob, Length: 9}}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := parsePackHeader(b)
		if err == nil && len(entries) > len(b) {
			t.Fatalf("%d entries from %d bytes", len(entries), len(b))
		}
	})
}

func FuzzIndexFile(f *testing.F) {
	f.Add([]byte("CFIX\x01\x00\x00"))
	f.Add([]byte("CFIX\x01\x01" + string(make([]byte, 16)) + "\x01" + string(make([]byte, 16)) + "\x01\x01" + string(make([]byte, 32)) + "\x00\x10\x05"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseIndexFile(b)
	})
}

func FuzzTree(f *testing.F) {
	f.Add([]byte(`{"nodes":[{"name":"a","type":"file","content":["0000000000000000000000000000000000000000000000000000000000000000",5]}]}`))
	f.Add([]byte(`{"nodes":[{"nameBase64":"/w==","type":"dir","subtree":"0000000000000000000000000000000000000000000000000000000000000000"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := DecodeTree(b)
		if err != nil {
			return
		}
		if _, err := EncodeTree(tree); err != nil {
			t.Fatalf("a tree that decodes does not encode: %v", err)
		}
	})
}

// FuzzBlob feeds the decoder what an opened blob holds: the flag and a body (a zstd frame).
func FuzzBlob(f *testing.F) {
	_, keys, codec := newTestRepo(f, false)
	plain := []byte("some text some text some text some text some text")
	id := keys.ID(plain)
	frame := codec.enc.EncodeAll(plain, []byte{flagZstd})
	f.Add(frame, len(plain))
	f.Add(append([]byte{flagRaw}, plain...), len(plain))
	f.Fuzz(func(t *testing.T, b []byte, raw int) {
		if raw < 0 || raw > MaxDataBlob {
			return
		}
		_, _ = codec.decode(nil, DataBlob, id, raw, b)
	})
}

func FuzzMark(f *testing.F) {
	f.Add([]byte("CFGC\x01\x02\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseMark(b)
	})
}
