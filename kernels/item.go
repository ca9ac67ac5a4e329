package kernels

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// Item is one work-item: its coordinates in the NDRange, its group's local
// memory and barrier, and its way to global memory.
//
// The global-memory accessors are written so the compiler inlines them: the
// host path (mem == nil) is a nil check plus one load or store; the mediated
// path is one interface call. An Item belongs to the goroutine running its
// work-item and is valid only while the body runs: in sequential mode the
// executor reuses it for the next work-item, so a body must not keep it.
type Item struct {
	mem Mem       // nil: host-direct
	gid [3]int    // global id
	lid [3]int    // local id
	g   *groupRun // shared state of the item's work-group
}

// GlobalID is get_global_id(d); 0 for d outside 0..2.
func (it *Item) GlobalID(d int) int {
	if uint(d) < 3 {
		return it.gid[d]
	}
	return 0
}

// LocalID is get_local_id(d); 0 for d outside 0..2.
func (it *Item) LocalID(d int) int {
	if uint(d) < 3 {
		return it.lid[d]
	}
	return 0
}

// GroupID is get_group_id(d); 0 for d outside 0..2.
func (it *Item) GroupID(d int) int {
	if uint(d) < 3 {
		return it.g.coords[d]
	}
	return 0
}

// GlobalSize is get_global_size(d); 1 for d outside 0..2.
func (it *Item) GlobalSize(d int) int {
	if uint(d) < 3 {
		return it.g.nd.Global[d]
	}
	return 1
}

// LocalSize is get_local_size(d); 1 for d outside 0..2.
func (it *Item) LocalSize(d int) int {
	if uint(d) < 3 {
		return it.g.nd.Local[d]
	}
	return 1
}

// NumGroups is get_num_groups(d); 1 for d outside 0..2.
func (it *Item) NumGroups(d int) int {
	if uint(d) < 3 {
		return it.g.numGroups[d]
	}
	return 1
}

// WorkDim is get_work_dim().
func (it *Item) WorkDim() int { return it.g.nd.Dims }

// GlobalLinear is get_global_linear_id() (dimension 0 fastest, the
// offset taken off).
func (it *Item) GlobalLinear() int {
	gs, o := &it.g.nd.Global, &it.g.nd.Offset
	return ((it.gid[2]-o[2])*gs[1]+it.gid[1]-o[1])*gs[0] + it.gid[0] - o[0]
}

// GlobalOffset is get_global_offset(d); 0 for d outside 0..2.
func (it *Item) GlobalOffset(d int) int {
	if uint(d) < 3 {
		return it.g.nd.Offset[d]
	}
	return 0
}

// LocalLinear is get_local_linear_id() (dimension 0 fastest).
func (it *Item) LocalLinear() int {
	ls := &it.g.nd.Local
	return (it.lid[2]*ls[1]+it.lid[1])*ls[0] + it.lid[0]
}

// GroupLinear is the work-group's linear index, the one RunGroup was given.
func (it *Item) GroupLinear() int { return it.g.group }

// Barrier is barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE): it returns
// once every work-item of the group has called it, and everything each item
// wrote before it (local or global memory) is visible to all items after it.
//
// Every item of the group must reach the same sequence of barriers. If one
// returns from the body while others wait, or an item fails, the waiting items
// are released and the group fails (see RunGroup); the body does not continue
// past the barrier in that case.
func (it *Item) Barrier() { it.g.barrier(it) }

// Local is the group's local memory (Kernel.LocalBytes bytes, zeroed when the
// group starts, 8-byte aligned), shared by all items of the group.
func (it *Item) Local() []byte { return it.g.local }

// LocalF32 is the group's local memory viewed as float32s.
func (it *Item) LocalF32() []float32 { return it.g.localF32 }

// The host paths below spell the address-to-pointer conversion inline as
// *(**T)(unsafe.Pointer(&addr)), the typed form of hostPtr (see there for why
// it is sound and vet-clean), instead of calling hostPtr: the call node alone
// would push several accessors over the inliner's budget. It compiles to a
// plain load or store through the address register.

// LoadF32 loads the float32 at addr.
func (it *Item) LoadF32(addr uintptr) float32 {
	if it.mem == nil {
		return **(**float32)(unsafe.Pointer(&addr))
	}
	return f32frombits(it.mem.Load32(addr))
}

// StoreF32 stores v at addr.
func (it *Item) StoreF32(addr uintptr, v float32) {
	if it.mem == nil {
		**(**float32)(unsafe.Pointer(&addr)) = v
		return
	}
	it.mem.Store32(addr, f32bits(v))
}

// LoadI32 loads the int32 at addr.
func (it *Item) LoadI32(addr uintptr) int32 {
	if it.mem == nil {
		return **(**int32)(unsafe.Pointer(&addr))
	}
	return int32(it.mem.Load32(addr))
}

// StoreI32 stores v at addr.
func (it *Item) StoreI32(addr uintptr, v int32) {
	if it.mem == nil {
		**(**int32)(unsafe.Pointer(&addr)) = v
		return
	}
	it.mem.Store32(addr, uint32(v))
}

// LoadU32 loads the uint32 at addr.
func (it *Item) LoadU32(addr uintptr) uint32 {
	if it.mem == nil {
		return **(**uint32)(unsafe.Pointer(&addr))
	}
	return it.mem.Load32(addr)
}

// StoreU32 stores v at addr.
func (it *Item) StoreU32(addr uintptr, v uint32) {
	if it.mem == nil {
		**(**uint32)(unsafe.Pointer(&addr)) = v
		return
	}
	it.mem.Store32(addr, v)
}

// LoadU64 loads the uint64 at addr.
func (it *Item) LoadU64(addr uintptr) uint64 {
	if it.mem == nil {
		return **(**uint64)(unsafe.Pointer(&addr))
	}
	return it.mem.Load64(addr)
}

// StoreU64 stores v at addr.
//
// Do not use it to store a Go pointer into Go memory: the store bypasses the
// garbage collector's write barrier. Kernels read pointers (LoadPtr) but do
// not create them.
func (it *Item) StoreU64(addr uintptr, v uint64) {
	if it.mem == nil {
		**(**uint64)(unsafe.Pointer(&addr)) = v
		return
	}
	it.mem.Store64(addr, v)
}

// LoadU8 loads the byte at addr.
func (it *Item) LoadU8(addr uintptr) uint8 {
	if it.mem == nil {
		return **(**uint8)(unsafe.Pointer(&addr))
	}
	return it.mem.Load8(addr)
}

// StoreU8 stores v at addr.
func (it *Item) StoreU8(addr uintptr, v uint8) {
	if it.mem == nil {
		**(**uint8)(unsafe.Pointer(&addr)) = v
		return
	}
	it.mem.Store8(addr, v)
}

// LoadPtr loads a pointer stored in memory (a 64-bit address), for example a
// Go struct's *T field, so the kernel can follow it.
func (it *Item) LoadPtr(addr uintptr) uintptr {
	if it.mem == nil {
		return **(**uintptr)(unsafe.Pointer(&addr))
	}
	return uintptr(it.mem.Load64(addr))
}

// AtomicAddU32 is atomic_add on a global uint: it adds d at addr and returns
// the old value.
func (it *Item) AtomicAddU32(addr uintptr, d uint32) (old uint32) {
	if it.mem == nil {
		return atomic.AddUint32(*(**uint32)(unsafe.Pointer(&addr)), d) - d
	}
	return it.mem.AtomicAdd32(addr, d)
}

// AtomicAddI32 is atomic_add on a global int; it returns the old value.
func (it *Item) AtomicAddI32(addr uintptr, d int32) (old int32) {
	if it.mem == nil {
		return atomic.AddInt32(*(**int32)(unsafe.Pointer(&addr)), d) - d
	}
	return int32(it.mem.AtomicAdd32(addr, uint32(d)))
}

// AtomicLoadU32 is atomic_load on a global uint: use it to read a word that
// other work-items update atomically at the same time (a plain LoadU32 would
// be a data race in Go's memory model, and the race detector reports it).
func (it *Item) AtomicLoadU32(addr uintptr) uint32 {
	if it.mem == nil {
		return atomic.LoadUint32(*(**uint32)(unsafe.Pointer(&addr)))
	}
	return it.mem.Load32(addr)
}

// AtomicCASU32 is a compare-and-swap on a global uint: if the value at addr
// is old it becomes new and AtomicCASU32 reports true.
func (it *Item) AtomicCASU32(addr uintptr, old, new uint32) bool {
	if it.mem == nil {
		return atomic.CompareAndSwapUint32(*(**uint32)(unsafe.Pointer(&addr)), old, new)
	}
	return it.mem.AtomicCAS32(addr, old, new)
}

// AtomicAddF32 adds d to the float32 at addr atomically (a compare-and-swap
// loop, as OpenCL C code does it without a float atomic) and returns the old
// value.
func (it *Item) AtomicAddF32(addr uintptr, d float32) (old float32) {
	for {
		ob := it.AtomicLoadU32(addr)
		nb := math.Float32bits(math.Float32frombits(ob) + d)
		if it.AtomicCASU32(addr, ob, nb) {
			return math.Float32frombits(ob)
		}
	}
}

// f32frombits and f32bits are math.Float32frombits and math.Float32bits; the
// local copies cost the inliner less, which keeps LoadF32 and StoreF32 under
// its budget.
func f32frombits(b uint32) float32 { return *(*float32)(unsafe.Pointer(&b)) }
func f32bits(f float32) uint32     { return *(*uint32)(unsafe.Pointer(&f)) }
