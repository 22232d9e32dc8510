package archive

import (
	"encoding/json"
	"testing"
)

// The fuzz targets feed arbitrary bytes to every reader of the format: each must return an error
// or a value, never panic or hang. `make fuzz` runs each briefly; CI does too.

func FuzzDecodeSection(f *testing.F) {
	c := newCodec()
	ndjson := []byte("{\"a\":1}\n{\"b\":2}\n")
	f.Add(c.compressTo(nil, ndjson), int64(len(ndjson)), 2)
	f.Add([]byte{}, int64(0), 0)
	f.Add(c.compress([]byte("{\"a\":1}")), int64(7), 1) // no trailing newline
	f.Fuzz(func(t *testing.T, data []byte, raw int64, items int) {
		got, err := c.decodeSection(data, raw, items)
		if err == nil && len(got) != items {
			t.Fatalf("decodeSection yielded %d items, want %d", len(got), items)
		}
		for _, item := range got {
			if len(item) == 0 || item[0] != '{' {
				t.Fatalf("decodeSection yielded %q", item)
			}
		}
	})
}

func FuzzDecodeIndex(f *testing.F) {
	c := newCodec()
	ix := &Index{Version: 1, Groups: []IndexGroup{{GroupKey: cmKey, Namespaced: true, Items: 1,
		Sections: []Section{{Pack: "000001.pack", Length: 10, Items: 1, RawBytes: 20}}}}}
	good, err := c.encodeIndex(ix)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(c.compress([]byte(`{"version":2}`)))
	f.Add([]byte("not zstd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := c.decodeIndex(data)
		if err == nil && ix == nil {
			t.Fatal("nil index without error")
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, encrypted := range []bool{true, false} {
		keys, err := deriveKeys(make([]byte, 32), encrypted)
		if err != nil {
			f.Fatal(err)
		}
		good, err := keys.encodeEnvelope(formatManifest, manifestContext("b"), RecoveryPoint{Name: "b", FormatVersion: 1})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good, encrypted)
	}
	f.Add([]byte(`{"format":"cairn-manifest","version":1,"payload":"e30=","mac":""}`), false)
	f.Fuzz(func(t *testing.T, data []byte, encrypted bool) {
		keys, err := deriveKeys(make([]byte, 32), encrypted)
		if err != nil {
			t.Fatal(err)
		}
		var rp RecoveryPoint
		_ = keys.decodeEnvelope("manifest", formatManifest, manifestContext("b"), data, &rp)
	})
}

func FuzzParseConfig(f *testing.F) {
	good, _ := json.Marshal(Config{Format: "cairn-repository", Version: 1, Encryption: EncryptionNone,
		KDF: KDF{Algorithm: "argon2id", Salt: make([]byte, 16), Time: 1, MemoryKiB: 8, Threads: 1}})
	f.Add(good, []byte("pw"))
	f.Add([]byte(`{"format":"cairn-repository","version":1,"encryption":"none","kdf":{"algorithm":"argon2id","time":4294967295,"memoryKiB":4294967295}}`), []byte("pw"))
	f.Fuzz(func(t *testing.T, data, passphrase []byte) {
		cfg, err := parseConfig(data)
		if err != nil || len(passphrase) == 0 {
			return
		}
		// Out-of-bounds parameters must be refused; in-bounds ones may be slow, so only cheap ones run.
		if cfg.KDF.MemoryKiB <= 64*1024 && cfg.KDF.Time <= 4 {
			_, _ = cfg.KDF.deriveKEK(Credential{Passphrase: passphrase})
		}
	})
}
