package devrt

// #include "sched.h"
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Access recording: a launch whose MMU has SetRecord(true) runs every
// global access of its work-items through the runtime's slow path, which
// counts it per work-item, page and kind (record.c). The host pages it
// touches are used in place (as the cpu device does), so a recording
// launch takes no device fault: what it records is what the kernel
// accesses, whatever a memory policy would have placed where. Each SM
// keeps its own entries; Recorded hands them out.

// Access kinds of a recorded entry.
const (
	AccessRead   = 0
	AccessWrite  = C.DR_ACC_WRITE
	AccessAtomic = C.DR_ACC_WRITE | C.DR_ACC_ATOMIC
)

// RecEntry is one work-item's accesses to one page of one kind.
type RecEntry struct {
	Item  uint64  // the work-item's global linear id
	Page  uintptr // page address
	Kind  uint8   // AccessRead, AccessWrite or AccessAtomic
	Count uint64  // accesses
	Bytes uint64  // bytes they moved
}

// ErrRecordingIncomplete is returned when the runtime's memory could not
// hold an SM's recording.
var ErrRecordingIncomplete = errors.New("devrt: access recording incomplete: out of runtime memory")

// SetRecord makes the MMU's launch a recording one (or not).
func (m *MMU) SetRecord(on bool) {
	m.c.record = 0
	if on {
		m.c.record = 1
	}
}

// Recorded appends the SM's entries since the last call — each work-item's
// in the order of its first access to the page with that kind; different
// work-items' entries interleave only where they did (at barriers) — to
// dst, and forgets them.
func (s *SM) Recorded(dst []RecEntry) ([]RecEntry, error) {
	r := &s.c.rec
	n := int(r.n)
	if n > 0 {
		es := unsafe.Slice(r.e, n)
		for i := range es {
			e := &es[i]
			dst = append(dst, RecEntry{Item: uint64(e.item), Page: uintptr(e.key &^ 0xfff), Kind: uint8(e.key & 3),
				Count: uint64(e.count), Bytes: uint64(e.bytes)})
		}
	}
	oom := r.oom != 0
	C.dr_rec_reset(s.c)
	if oom {
		return dst, fmt.Errorf("%w (%d entries kept)", ErrRecordingIncomplete, n)
	}
	return dst, nil
}
