package files

import "math/bits"

// bufferPool hands out byte slices in power-of-two size classes up to the largest chunk, and
// keeps at most a few idle ones a class: what a backup holds stays bounded by what is in
// flight, not by how much it read (§18).
type bufferPool struct {
	classes [24]chan []byte
}

const minBufferClass = 12 // 4 KiB

func newBufferPool(idlePerClass int) *bufferPool {
	p := &bufferPool{}
	for i := range p.classes {
		p.classes[i] = make(chan []byte, idlePerClass)
	}
	return p
}

func class(n int) int {
	if n <= 1<<minBufferClass {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufferClass
}

// get returns a slice of length n.
func (p *bufferPool) get(n int) []byte {
	c := class(n)
	if c >= len(p.classes) {
		return make([]byte, n)
	}
	select {
	case b := <-p.classes[c]:
		return b[:n]
	default:
		return make([]byte, n, 1<<(c+minBufferClass))
	}
}

// put returns a slice from get.
func (p *bufferPool) put(b []byte) {
	c := class(cap(b))
	if c >= len(p.classes) || cap(b) != 1<<(c+minBufferClass) {
		return
	}
	select {
	case p.classes[c] <- b[:0]:
	default:
	}
}
