package filerepo

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// decoder reads the binary units (pack headers, index files); the first error sticks and
// later reads return zero values, so parsers check once at the end.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes(dst []byte) {
	if d.err != nil || len(d.b) < len(dst) {
		d.fail(errShort)
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

func (d *decoder) id(dst *ID) { d.bytes(dst[:]) }

func (d *decoder) name(dst *Name) { d.bytes(dst[:]) }

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail(fmt.Errorf("value %d out of range", v))
		return 0
	}
	return uint32(v)
}

// count reads a count of items each at least minSize bytes, refusing one the rest cannot hold.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)/minSize) {
		d.fail(fmt.Errorf("count %d larger than the data", v))
		return 0
	}
	return int(v)
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}
